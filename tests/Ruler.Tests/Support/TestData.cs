namespace Ruler.Tests.Support;

/// <summary>Seeded random tensors: every test draws its inputs from a fixed seed so failures reproduce.</summary>
internal static class TestData
{
    public static double[] Uniform(Random rng, int count, double lo = -1, double hi = 1)
    {
        var a = new double[count];
        for (int i = 0; i < count; i++) a[i] = lo + (hi - lo) * rng.NextDouble();
        return a;
    }

    /// <summary>Standard normal samples (Box–Muller), scaled and shifted.</summary>
    public static double[] Normal(Random rng, int count, double mean = 0, double std = 1)
    {
        var a = new double[count];
        for (int i = 0; i < count; i++)
        {
            double u = 1 - rng.NextDouble(), v = rng.NextDouble();
            a[i] = mean + std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
        }
        return a;
    }

    public static float[] ToFloat(double[] a) => Array.ConvertAll(a, v => (float)v);

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    public static T[] Convert<T>(double[] a) where T : unmanaged =>
        typeof(T) == typeof(float) ? (T[])(object)ToFloat(a)
        : typeof(T) == typeof(double) ? (T[])(object)(double[])a.Clone()
        : typeof(T) == typeof(Half) ? (T[])(object)Array.ConvertAll(a, v => (Half)v)
        : throw new NotSupportedException(typeof(T).Name);

    public static double[] ToDouble<T>(T[] a) where T : unmanaged =>
        a is float[] f ? ToDouble(f)
        : a is double[] d ? (double[])d.Clone()
        : a is Half[] h ? Array.ConvertAll(h, v => (double)v)
        : throw new NotSupportedException(typeof(T).Name);

    /// <summary>The values rounded to <typeparamref name="T"/> and widened back: what a T tensor of them holds.</summary>
    public static double[] RoundTo<T>(double[] a) where T : unmanaged => ToDouble(Convert<T>(a));

    public static int Count(int[] shape) => shape.Aggregate(1, (p, d) => p * d);
}
