namespace GenCluster.Trainer.Training;

/// <summary>
/// Cosine annealing of a learning rate without restarts (Loshchilov &amp; Hutter 2017):
/// η_t = η·½(1 + cos(π·t/T)) for step t of T, from η at t = 0 towards 0 at t = T. A pure function of the step, so a
/// resumed job continues the schedule exactly where the checkpoint left it.
/// </summary>
public static class CosineAnnealing
{
    /// <summary>The rate for the step after <paramref name="done"/> of <paramref name="total"/> steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="total"/> is not positive or <paramref name="done"/> is outside [0, total].</exception>
    public static double Rate(double initial, long done, long total)
    {
        if (total <= 0) throw new ArgumentOutOfRangeException(nameof(total), total, "a schedule needs at least one step");
        if (done < 0 || done > total) throw new ArgumentOutOfRangeException(nameof(done), done, $"must be in [0, {total}]");
        return initial * 0.5 * (1 + Math.Cos(Math.PI * done / total));
    }
}
