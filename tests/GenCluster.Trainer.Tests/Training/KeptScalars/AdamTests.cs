using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Training.KeptScalars;

public class AdamTests
{
    private static readonly long[][] Shapes = [[3, 4], [5], [2, 2, 3]];

    private static Parameter[] NewParameters()
    {
        using var random = new torch.Generator(7);
        return Shapes.Select(shape =>
        {
            using var values = torch.randn(shape, generator: random);
            return new Parameter(values.clone(), requires_grad: true);
        }).ToArray();
    }

    private static void SetGradients(Parameter[] parameters, int step, bool skipLast)
    {
        using var random = new torch.Generator((ulong)(100 + step));
        for (var i = 0; i < parameters.Length; i++)
        {
            using var grad = torch.randn(parameters[i].shape, generator: random);
            using (torch.NewDisposeScope())
                parameters[i].grad = skipLast && i == parameters.Length - 1 ? null : grad.clone().DetachFromDisposeScope();
        }
    }

    private static float[] Flatten(IEnumerable<Tensor> tensors)
    {
        using var scope = torch.NewDisposeScope();
        return torch.cat(tensors.Select(t => t.detach().reshape(-1)).ToArray()).data<float>().ToArray();
    }

    [Fact]
    public void FollowsTorchSharpsAdamBitForBitAndSavesTheSameState()
    {
        var mine = NewParameters();
        var theirs = NewParameters();
        using var kept = new GenCluster.Trainer.Training.KeptScalars.Adam(mine, 2e-3, 0.5, 0.999);
        using var adam = optim.Adam(theirs, 2e-3, 0.5, 0.999);

        for (var step = 0; step < 6; step++)
        {
            // A parameter without a gradient (a branch not taken) is skipped, as Adam skips it.
            SetGradients(mine, step, skipLast: step == 2);
            SetGradients(theirs, step, skipLast: step == 2);
            using (torch.NewDisposeScope())
            {
                kept.step();
                adam.step();
            }
        }

        Assert.Equal(Flatten(theirs), Flatten(mine));
        // Checkpoints hold the optimiser's state dict: the same bytes, so old checkpoints load into it and new ones into Adam.
        using var mineState = new MemoryStream();
        using var theirState = new MemoryStream();
        using (var writer = new BinaryWriter(mineState, System.Text.Encoding.UTF8, leaveOpen: true)) kept.save_state_dict(writer);
        using (var writer = new BinaryWriter(theirState, System.Text.Encoding.UTF8, leaveOpen: true)) adam.save_state_dict(writer);
        Assert.Equal(theirState.ToArray(), mineState.ToArray());
    }

    [Fact]
    public async Task StepsWithGarbageCollectionsRunningAlongsideStayExact()
    {
        // Collections and finalizers running while the steps run: with temporary scalars the finalizer thread could free
        // an operand libtorch has not read yet; with kept ones the results stay exact.
        var mine = NewParameters();
        var theirs = NewParameters();
        using var kept = new GenCluster.Trainer.Training.KeptScalars.Adam(mine, 1e-2, 0.9, 0.99);
        using var adam = optim.Adam(theirs, 1e-2, 0.9, 0.99);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        for (var step = 0; step < 200; step++)
        {
            SetGradients(mine, step, skipLast: false);
            SetGradients(theirs, step, skipLast: false);
            using (torch.NewDisposeScope()) kept.step();
            using (torch.NewDisposeScope()) adam.step();
        }

        await stop.CancelAsync();
        await collector;
        Assert.Equal(Flatten(theirs), Flatten(mine));
    }

    [Fact]
    public void OptionsItDoesNotCoverAreRefused()
    {
        var parameters = NewParameters();
        using var kept = new GenCluster.Trainer.Training.KeptScalars.Adam(parameters, 1e-3, 0.9, 0.999);
        ((TorchSharp.Modules.Adam.Options)kept.state_dict().Options.Single()).amsgrad = true;
        SetGradients(parameters, 0, skipLast: false);

        var error = Assert.Throws<NotSupportedException>(() => kept.step());
        Assert.Contains("AMSGrad", error.Message, StringComparison.Ordinal);
    }
}
