using GenCluster.Trainer.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Evaluation;

public class FrechetDistanceTests
{
    [Fact]
    public void IdenticalSetsAreAtDistanceZero()
    {
        using var generator = new Generator(7);
        using var features = torch.randn([500, 16], dtype: ScalarType.Float64, generator: generator);
        using var skewed = features.matmul(torch.randn([16, 16], dtype: ScalarType.Float64, generator: generator));
        Assert.Equal(0, FrechetDistance.Compute(skewed, skewed), 1e-6);
    }

    [Fact]
    public void DiagonalMomentsGiveTheClosedFormExactly()
    {
        double[] mu1 = [0, 1, -2, 0.5], mu2 = [1, 1, 0, -0.5];
        double[] s1 = [1, 4, 0.25, 2], s2 = [9, 1, 0.25, 0.5]; // standard deviations
        var expected = Enumerable.Range(0, 4).Sum(i => Math.Pow(mu1[i] - mu2[i], 2) + Math.Pow(s1[i] - s2[i], 2));

        using var scope = torch.NewDisposeScope();
        var actual = FrechetDistance.FromMoments(
            torch.tensor(mu1), torch.diag(torch.tensor(s1.Select(s => s * s).ToArray())),
            torch.tensor(mu2), torch.diag(torch.tensor(s2.Select(s => s * s).ToArray())));
        Assert.Equal(expected, actual, 1e-9);
    }

    [Fact]
    public void TwoByTwoNonDiagonalCaseMatchesTheAnalyticSquareRoot()
    {
        // For 2×2 positive definite A and B, the eigenvalues of A^½BA^½ are those of AB, so
        // Tr((A^½BA^½)^½) = √λ1 + √λ2 = √(tr(AB) + 2√det(AB)).
        double[,] a = { { 2.0, 0.8 }, { 0.8, 1.0 } }, b = { { 0.5, -0.3 }, { -0.3, 3.0 } };
        double[] mu1 = [0.3, -1.2], mu2 = [1.0, 0.4];
        var trAb = a[0, 0] * b[0, 0] + a[0, 1] * b[1, 0] + a[1, 0] * b[0, 1] + a[1, 1] * b[1, 1];
        var detAb = (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]) * (b[0, 0] * b[1, 1] - b[0, 1] * b[1, 0]);
        var expected = Math.Pow(mu1[0] - mu2[0], 2) + Math.Pow(mu1[1] - mu2[1], 2)
            + a[0, 0] + a[1, 1] + b[0, 0] + b[1, 1] - 2 * Math.Sqrt(trAb + 2 * Math.Sqrt(detAb));

        using var scope = torch.NewDisposeScope();
        var actual = FrechetDistance.FromMoments(torch.tensor(mu1), torch.tensor(a), torch.tensor(mu2), torch.tensor(b));
        Assert.Equal(expected, actual, 1e-10);
    }

    [Fact]
    public void LargerNonDiagonalCaseMatchesNewtonSchulz()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(11);
        const int d = 6;
        var l1 = torch.randn([d, d], dtype: ScalarType.Float64, generator: generator);
        var l2 = torch.randn([d, d], dtype: ScalarType.Float64, generator: generator);
        var sigma1 = l1.matmul(l1.T) + 0.1 * torch.eye(d, dtype: ScalarType.Float64);
        var sigma2 = l2.matmul(l2.T) + 0.1 * torch.eye(d, dtype: ScalarType.Float64);
        var mu1 = torch.randn([d], dtype: ScalarType.Float64, generator: generator);
        var mu2 = torch.randn([d], dtype: ScalarType.Float64, generator: generator);

        var root1 = NewtonSchulzSqrt(sigma1);
        var traceRoot = NewtonSchulzSqrt(root1.matmul(sigma2).matmul(root1)).trace().item<double>();
        var expected = (mu1 - mu2).square().sum().item<double>() + sigma1.trace().item<double>() + sigma2.trace().item<double>() - 2 * traceRoot;

        Assert.Equal(expected, FrechetDistance.FromMoments(mu1, sigma1, mu2, sigma2), 1e-6);
    }

    [Fact]
    public void LargeSamplesOfDiagonalGaussiansApproachTheClosedForm()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        var std1 = torch.tensor(new[] { 1.0, 2.0, 0.5 });
        var std2 = torch.tensor(new[] { 1.5, 1.0, 0.5 });
        var mean1 = torch.tensor(new[] { 0.0, 0.0, 1.0 });
        var mean2 = torch.tensor(new[] { 1.0, -1.0, 1.0 });
        // Each column standardised to sample mean 0 and sample std 1, so only the off-diagonal sample covariances
        // (of order 1/√n, entering FD at second order) differ from the target moments.
        var x = Standardised(torch.randn([200_000, 3], dtype: ScalarType.Float64, generator: generator)) * std1 + mean1;
        var y = Standardised(torch.randn([200_000, 3], dtype: ScalarType.Float64, generator: generator)) * std2 + mean2;
        var expected = (mean1 - mean2).square().sum().item<double>() + (std1 - std2).square().sum().item<double>(); // 2 + 1.25

        var actual = FrechetDistance.Compute(x, y);
        Assert.True(Math.Abs(actual - expected) / expected < 1e-3, $"FD {actual}, closed form {expected}");
    }

    [Fact]
    public void TinyNegativeEigenvaluesFromRoundingAreClamped()
    {
        using var scope = torch.NewDisposeScope();
        // Rank-deficient covariance (a constant feature, as a dead ReLU unit gives): eigenvalues 0 and -tiny.
        var sigma = torch.tensor(new double[,] { { 1.0, 0.0, 0.0 }, { 0.0, 0.0, 0.0 }, { 0.0, 0.0, -1e-17 } });
        var mu = torch.zeros(3, dtype: ScalarType.Float64);
        var fd = FrechetDistance.FromMoments(mu, sigma, mu, sigma);
        Assert.False(double.IsNaN(fd));
        Assert.Equal(0, fd, 1e-9);
    }

    [Fact]
    public void MismatchedShapesAreRefusedWithTheShapes()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() =>
            FrechetDistance.FromMoments(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4)));
        Assert.Contains("mu2 [4]", ex.Message);
    }

    private static Tensor Standardised(Tensor x) => (x - x.mean([0])) / x.std(0);

    // Coupled Newton–Schulz iteration on the normalised matrix (Higham 2008, §6.7): Y → A^½, Z → A^-½.
    private static Tensor NewtonSchulzSqrt(Tensor a)
    {
        var d = a.shape[0];
        var norm = torch.linalg.matrix_norm(a).item<double>();
        var y = a / norm;
        var z = torch.eye(d, dtype: ScalarType.Float64);
        var eye3 = 3 * torch.eye(d, dtype: ScalarType.Float64);
        for (var i = 0; i < 100; i++)
        {
            var t = 0.5 * (eye3 - z.matmul(y));
            (y, z) = (y.matmul(t), t.matmul(z));
        }
        return y * Math.Sqrt(norm);
    }
}
