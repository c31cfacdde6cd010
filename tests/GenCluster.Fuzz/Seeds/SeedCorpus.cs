using GenCluster.Fuzz.Targets;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Fuzz.Seeds;

/// <summary>
/// Writes the seed corpus (<c>corpus/&lt;target&gt;/valid-*</c> and <c>edge-*</c>) and the afl-fuzz dictionaries
/// (<c>dictionaries/&lt;target&gt;.dict</c>) under the harness folder, from the product's own encoders, so that the
/// seeds follow the wire format when it changes. Other files in the corpus (crashes, afl-fuzz's finds) stay.
/// </summary>
internal static class SeedCorpus
{
    public static void Write(string harnessDirectory)
    {
        var recordings = RingRecordings.RecordAsync().GetAwaiter().GetResult();
        var seeds = new Dictionary<string, IEnumerable<(string Name, byte[] Bytes)>>
        {
            [RingFrameTarget.Name] = RingFrameSeeds.Make(recordings),
            [HpackTarget.Name] = HpackSeeds.Make(recordings),
            [RingMessageTarget.Name] = RingMessageSeeds.Make(),
            [JobSpecTarget.Name] = JobSpecSeeds.Make(),
        };
        foreach (var (target, files) in seeds)
        {
            var folder = FuzzCorpus.Directory(target, harnessDirectory);
            Directory.CreateDirectory(folder);
            var count = 0;
            foreach (var (name, bytes) in files)
            {
                File.WriteAllBytes(Path.Combine(folder, name), bytes);
                count++;
            }

            Console.WriteLine($"{target}: {count} seeds in {folder}");
        }

        var dictionaries = Path.Combine(harnessDirectory, "dictionaries");
        var headerTokens = HeaderTokens(recordings).ToList();
        Report(RingFrameTarget.Name, AflDictionary.Write(Path.Combine(dictionaries, $"{RingFrameTarget.Name}.dict"), headerTokens));
        Report(HpackTarget.Name, AflDictionary.Write(Path.Combine(dictionaries, $"{HpackTarget.Name}.dict"), headerTokens));
        Report(JobSpecTarget.Name, AflDictionary.Write(Path.Combine(dictionaries, $"{JobSpecTarget.Name}.dict"), JobSpecSeeds.Tokens()));

        static void Report(string target, int tokens) => Console.WriteLine($"{target}: {tokens} dictionary tokens");
    }

    /// <summary>The client preface, then every header name and value of the recorded calls, decoded.</summary>
    private static IEnumerable<byte[]> HeaderTokens(RingRecordings recordings)
    {
        yield return Http2FrameHeader.ClientPreface.ToArray();
        foreach (var stream in new[] { recordings.Stream.FromClient, recordings.Stream.FromServer, recordings.OtherMethod.FromServer })
        {
            var decoder = new Hpack.Decoder(4096);
            foreach (var block in HpackSeeds.HeaderBlocks(stream))
            {
                foreach (var (name, value) in decoder.Decode(block))
                {
                    yield return System.Text.Encoding.Latin1.GetBytes(name);
                    yield return System.Text.Encoding.Latin1.GetBytes(value);
                }
            }
        }
    }
}
