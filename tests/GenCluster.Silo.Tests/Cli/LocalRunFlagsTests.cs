namespace GenCluster.Silo.Tests.Cli;

public class LocalRunFlagsTests
{
    [Fact]
    public void LocalRejectsImpossibleFlagsNamingEach()
    {
        var (code, output) = GenClusterCliTests.RunCli("local", "--workers", "0", "--batch", "0", "--width", "2", "--overlap", "maybe", "--bind-cores", "always");
        Assert.Equal(2, code);
        Assert.Contains("--overlap must be auto, on or off (got 'maybe')", output);
        Assert.Contains("--bind-cores must be auto, on or off (got 'always')", output);
        Assert.Contains("--workers must be 1..8 on one machine (got 0)", output);
        Assert.Contains("--batch must be >= 1 (got 0)", output);
        Assert.Contains("--width must be 0 (the model's default) or 4..512 (got 2)", output);
    }

    [Fact]
    public void ModelFlagsNameTheKindAndTheOption()
    {
        var (code, output) = GenClusterCliTests.RunCli("local", "--model", "vit");
        Assert.Equal(2, code);
        Assert.Contains("--model must be one of gan, cgan, dcgan, wgan, wgan-gp, sngan, sagan, biggan, vae, vqvae, vqvae2 (got 'vit')", output);

        (code, output) = GenClusterCliTests.RunCli("local", "--model", "wgan-gp", "--set", "gradientPenalty=-1", "--set", "dSteps=0");
        Assert.Equal(2, code);
        Assert.Contains("model.gradientPenalty: must be a finite number > 0, got -1", output);
        Assert.Contains("model.dSteps: must be >= 1, got 0", output);

        (code, output) = GenClusterCliTests.RunCli("local", "--model", "dcgan", "--set", "clip=0.1");
        Assert.Equal(2, code);
        Assert.Contains("clip", output);
    }

    [Fact]
    public void TheKindsPresetFillsOnlyTheFlagsNotGiven()
    {
        var flags = new GenCluster.Silo.Cli.LocalRunFlags(new GenCluster.Silo.Local.LocalRunOptions(), presets: true);
        var bare = new System.CommandLine.Command("local");
        flags.AddTo(bare);

        var dcgan = flags.Bind(bare.Parse([]));
        Assert.Equal((7000L, 32, 32, 700), (dcgan.Steps, dcgan.PerWorkerBatch, dcgan.Width, dcgan.CheckpointEvery));
        Assert.Equal(["learningRateG=4e-4", "learningRateD=4e-4"], dcgan.ModelSettings);

        var given = flags.Bind(bare.Parse(["--model", "dcgan", "--steps", "30", "--set", "learningRateG=1e-3"]));
        Assert.Equal((30L, 32), (given.Steps, given.Width));
        Assert.Equal("learningRateG=1e-3", given.ModelSettings[^1]);
        var model = Assert.IsType<GenCluster.Contracts.Models.DcganOptions>(given.ToJobSpec("/runs").Model);
        Assert.Equal((1e-3, 4e-4), (model.LearningRateG, model.LearningRateD));

        Assert.Equal(1000L, flags.Bind(bare.Parse(["--model", "wgan"])).Steps);

        Assert.False(flags.Bind(bare.Parse(["--model", "dcgan"])).ToJobSpec("/runs").ShardOptimizer);
        Assert.True(flags.Bind(bare.Parse(["--model", "dcgan", "--shard-optimizer"])).ToJobSpec("/runs").ShardOptimizer);
    }

    [Fact]
    public void ModelChoiceBuildsTheKindsRecordWithTheSettings()
    {
        var (model, errors) = GenCluster.Silo.Local.ModelChoice.Build("wgan", 24, ["dSteps=3", "clip=0.02"]);
        Assert.Empty(errors);
        var wgan = Assert.IsType<GenCluster.Contracts.Models.WganOptions>(model);
        Assert.Equal((24, 3, 0.02, "rmsprop"), (wgan.Width, wgan.DSteps, wgan.Clip, wgan.Optimizer));
    }

    [Fact]
    public void ChaosSharesTheLocalFlagsAndNeedsTwoWorkers()
    {
        var (code, output) = GenClusterCliTests.RunCli("chaos", "--workers", "1", "--steps", "0");
        Assert.Equal(2, code);
        Assert.Contains("--workers must be >= 2 for chaos (got 1)", output);
        Assert.Contains("--steps must be >= 1 (got 0)", output);
    }

    [Fact]
    public void BigGansPresetAccumulatesToAGlobalBatchOf256AndItsFlagsOverrideIt()
    {
        var flags = new GenCluster.Silo.Cli.LocalRunFlags(new GenCluster.Silo.Local.LocalRunOptions(), presets: true);
        var bare = new System.CommandLine.Command("local");
        flags.AddTo(bare);

        var preset = flags.Bind(bare.Parse(["--model", "biggan"]));
        Assert.Equal((256, 64, 2), (preset.GlobalBatch, preset.PerWorkerBatch, preset.Workers));
        var spec = preset.ToJobSpec("/runs");
        Assert.Equal(256, spec.GlobalBatch);
        Assert.IsType<GenCluster.Contracts.Models.BigGanOptions>(spec.Model);

        var given = flags.Bind(bare.Parse(["--model", "biggan", "--global-batch", "512", "--d-steps", "3", "--ema-start", "50", "--set", "dSteps=2"]));
        var model = Assert.IsType<GenCluster.Contracts.Models.BigGanOptions>(given.ToJobSpec("/runs").Model);
        Assert.Equal((512, 3, 50L), (given.GlobalBatch, model.DSteps, model.EmaStart));
    }

    [Fact]
    public void AGlobalBatchThatIsNotWholeMicroBatchesIsRefusedWithTheProduct()
    {
        var (code, output) = GenClusterCliTests.RunCli("local", "--model", "biggan", "--global-batch", "200");
        Assert.Equal(2, code);
        Assert.Contains("--global-batch must be a multiple of --batch × --workers (64 × 2 = 128)", output);
        Assert.Contains("(got 200)", output);
    }

    [Fact]
    public void ADatasetPathThatDoesNotExistIsNamed()
    {
        var missing = Path.Combine(Path.GetTempPath(), "gencluster-no-such-dataset", "images");
        var (code, output) = GenClusterCliTests.RunCli("local", "--dataset", missing);
        Assert.Equal(2, code);
        Assert.Contains($"--dataset must be 'mnist' or the path of an image folder or CIFAR-10 batches; nothing exists at {missing}", output);
    }

    [Fact]
    public void ADatasetPathGoesInTheSpecAbsoluteWithSizeAndChannels()
    {
        var folder = Directory.CreateTempSubdirectory("gencluster-flags-");
        try
        {
            var flags = new GenCluster.Silo.Cli.LocalRunFlags(new GenCluster.Silo.Local.LocalRunOptions());
            var bare = new System.CommandLine.Command("local");
            flags.AddTo(bare);

            var options = flags.Bind(bare.Parse(["--model", "cgan", "--dataset", folder.FullName + "/", "--image-size", "48", "--channels", "1"]));
            Assert.Empty(options.Validate());
            var spec = options.ToJobSpec("/runs");

            Assert.Equal((folder.FullName, 48, 1), (spec.Dataset, spec.ImageSize, spec.Channels));
            Assert.Equal($"local-cgan-{folder.Name}", spec.Name);
            var defaults = flags.Bind(bare.Parse([])).ToJobSpec("/runs");
            Assert.Equal(("mnist", 0, 0, "local-dcgan-mnist"), (defaults.Dataset, defaults.ImageSize, defaults.Channels, defaults.Name));
        }
        finally
        {
            folder.Delete();
        }
    }

    [Theory]
    [InlineData(new string[0], 2, "-,-")]                                      // off unless asked for
    [InlineData(new[] { "--bind-cores", "auto" }, 2, "0/2,1/2")]               // two trainers on two cores: a core each
    [InlineData(new[] { "--bind-cores", "auto", "--workers", "3" }, 2, "-,-,-")] // more trainers than cores: left to the scheduler
    [InlineData(new[] { "--bind-cores", "auto", "--workers", "1" }, 2, "-")]   // alone: every core anyway
    [InlineData(new[] { "--workers", "3", "--bind-cores", "on" }, 2, "0/3,1/3,2/3")]
    [InlineData(new[] { "--bind-cores", "off" }, 16, "-,-")]
    public void TrainersAreBoundToTheirOwnCoresWhenThereIsACoreForEach(string[] arguments, int cores, string expected)
    {
        var flags = new GenCluster.Silo.Cli.LocalRunFlags(new GenCluster.Silo.Local.LocalRunOptions(), presets: true);
        var bare = new System.CommandLine.Command("local");
        flags.AddTo(bare);
        var options = flags.Bind(bare.Parse(arguments));
        Assert.Empty(options.Validate());
        Assert.Equal(expected, string.Join(',', Enumerable.Range(0, options.Workers).Select(i => options.CpuSlot(i, cores) ?? "-")));
    }
}
