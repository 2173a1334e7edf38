using Ruler.Internal;

namespace Ruler;

/// <summary>A ruler resolved against one shape: how many groups, how large each is, how many affine parameters.</summary>
public sealed class RulerLayout
{
    internal RulerLayout(RulerSpec ruler, ReadOnlySpan<int> shape)
    {
        Ruler = ruler;
        Count = Check.Shape(shape);
        _dims = shape.ToArray();
        int rank = shape.Length;
        Reduced = new bool[rank];
        Affine = new bool[rank];
        foreach (int a in ruler.ReducedAxes) Reduced[Normalize(a, rank, "ruler.ReducedAxes", shape)] = true;
        foreach (int a in ruler.AffineAxes) Affine[Normalize(a, rank, "ruler.AffineAxes", shape)] = true;
        long groups = 1, affine = 1;
        for (int a = 0; a < rank; a++)
        {
            if (!Reduced[a]) groups *= shape[a];
            if (Affine[a]) affine *= shape[a];
        }
        GroupCount = (int)groups;
        GroupSize = (int)(Count / groups);
        AffineSize = ruler.AffineAxes.Count == 0 ? 1 : (int)affine;
        Kind = KernelPlans.Classify(this, out var rows, out var columns);
        RowPlan = rows;
        ColumnPlan = columns;
    }

    /// <summary>The ruler this layout resolves.</summary>
    public RulerSpec Ruler { get; }

    private readonly int[] _dims;

    /// <summary>The shape it was resolved against (a copy).</summary>
    public int[] Shape => (int[])_dims.Clone();

    /// <summary>The shape it was resolved against, without copying.</summary>
    internal ReadOnlySpan<int> Dims => _dims;

    /// <summary>Total element count.</summary>
    public long Count { get; }

    /// <summary>Number of groups (product of kept dims): the length of the saved mean and rstd.</summary>
    public int GroupCount { get; }

    /// <summary>Elements per group (product of reduced dims).</summary>
    public int GroupSize { get; }

    /// <summary>Length of γ and β (product of affine dims; 1 when the ruler has no affine axes).</summary>
    public int AffineSize { get; }

    /// <summary>Per axis: reduced into the group?</summary>
    internal bool[] Reduced { get; }

    /// <summary>Per axis: indexes the affine parameters?</summary>
    internal bool[] Affine { get; }

    /// <summary>Which kernels serve this layout (float and double), classified once per layout.</summary>
    internal PlanKind Kind { get; }

    /// <summary>The rows/planes plan when <see cref="Kind"/> is <see cref="PlanKind.Rows"/>.</summary>
    internal RowPlan RowPlan { get; }

    /// <summary>The columns plan when <see cref="Kind"/> is <see cref="PlanKind.Columns"/>.</summary>
    internal ColumnPlan ColumnPlan { get; }

    /// <summary>Group index and affine index of every element (row-major), for the reference kernels.</summary>
    internal (int[] Group, int[] AffineIndex) IndexMaps()
    {
        int rank = _dims.Length;
        var group = new int[Count];
        var affine = new int[Count];
        var idx = new int[rank];
        for (long i = 0; i < Count; i++)
        {
            int g = 0, p = 0;
            for (int a = 0; a < rank; a++)
            {
                if (!Reduced[a]) g = g * _dims[a] + idx[a];
                if (Affine[a]) p = p * _dims[a] + idx[a];
            }
            group[i] = g;
            affine[i] = p;
            for (int a = rank - 1; a >= 0; a--)
            {
                if (++idx[a] < _dims[a]) break;
                idx[a] = 0;
            }
        }
        return (group, affine);
    }

    private static int Normalize(int axis, int rank, string argument, ReadOnlySpan<int> shape)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw Check.Fail(argument, $"axes in [-{rank}, {rank - 1}] for shape {Check.ShapeText(shape)}", axis.ToString());
        return a;
    }
}
