namespace GenCluster.Trainer.Data;

/// <summary>Grey from RGB with the ITU-R BT.709 weights (the ones ImageSharp's <c>L8</c> conversion uses), so every format greys alike.</summary>
public static class Luminance
{
    /// <summary>The 8-bit luminance of an 8-bit RGB pixel, rounded to nearest.</summary>
    public static byte FromRgb(byte r, byte g, byte b) => (byte)Math.Clamp(MathF.Round(0.2126f * r + 0.7152f * g + 0.0722f * b), 0f, 255f);
}
