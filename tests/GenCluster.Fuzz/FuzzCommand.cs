using GenCluster.Fuzz.Seeds;
using SharpFuzz;

namespace GenCluster.Fuzz;

/// <summary>The harness's command line: run a target under afl-fuzz, replay inputs, write the seed corpus.</summary>
internal static class FuzzCommand
{
    private static string Usage => $"""
        usage: GenCluster.Fuzz run <target>                 serve afl-fuzz (SharpFuzz's out-of-process fork server; input on stdin)
               GenCluster.Fuzz replay <target> <path>...    run files, or every file of folders, once each; exit 1 if any crashes
               GenCluster.Fuzz seed [<harness-folder>]      write corpus/<target>/valid-*, edge-* and dictionaries/ from the real encoders
        targets: {string.Join(", ", FuzzTargets.Names)}
        """;

    public static int Run(string[] args)
    {
        try
        {
            switch (args)
            {
                case ["run", var name]:
                    Serve(name);
                    return 0;
                case ["replay", var name, .. var paths] when paths.Length > 0:
                    return Replay(name, paths);
                case ["seed"]:
                    SeedCorpus.Write(FuzzCorpus.HarnessDirectory(Environment.CurrentDirectory));
                    return 0;
                case ["seed", var folder]:
                    SeedCorpus.Write(folder);
                    return 0;
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or DirectoryNotFoundException or FileNotFoundException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    private static void Serve(string name)
    {
        // An unknown name fails here, before afl-fuzz connects; the target is made in the child process that runs inputs.
        var create = FuzzTargets.Factory(name);
        IFuzzTarget? target = null;
        Fuzzer.OutOfProcess.Run(stdin =>
        {
            using var input = new MemoryStream();
            stdin.CopyTo(input);
            if (target is null)
            {
                OneWorkerThread();
                target = create();
            }

            target.Run(input.GetBuffer().AsSpan(0, (int)input.Length));
        });
    }

    /// <summary>
    /// Runs the thread pool's work items one at a time (where the runtime allows: run.sh sets DOTNET_PROCESSOR_COUNT=1).
    /// Instrumented code on two threads at once would mix their branch traces, and the same input would show
    /// afl-fuzz a different path each run; ring-frame's connection, call handler and sockets otherwise run in parallel.
    /// </summary>
    private static void OneWorkerThread()
    {
        ThreadPool.SetMinThreads(1, 1);
        ThreadPool.SetMaxThreads(1, 1);
    }

    private static int Replay(string name, string[] paths)
    {
        var target = FuzzTargets.Factory(name)();
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
        var crashes = 0;
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            try
            {
                Console.WriteLine($"{target.Run(input).ToString().ToLowerInvariant(),-8} {file}");
            }
            catch (Exception ex)
            {
                crashes++;
                Console.WriteLine($"CRASH    {file}: {ex}");
            }
        }

        (target as IDisposable)?.Dispose();
        Console.WriteLine($"{name}: {files.Count} inputs, {crashes} crashed");
        return crashes == 0 ? 0 : 1;
    }
}
