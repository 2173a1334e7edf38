namespace Ruler.Internal;

/// <summary>
/// Rows (and planes): a group is <see cref="Segments"/> segments of <see cref="SegmentLength"/> contiguous elements,
/// <see cref="SegmentStride"/> apart. Group g's first segment starts at g·SegmentLength. Inside a segment the affine
/// index is AffineBase(g) + j / RunLength: <see cref="Runs"/> runs of <see cref="RunLength"/> elements that share
/// one γ, β (RunLength 1: γ, β per element). LayerNorm/RMSNorm [K, R]: one segment, R runs of 1; InstanceNorm NCHW:
/// one run of HW; GroupNorm NCHW view [N, G, C/G, S]: C/G runs of S; BatchNorm NCHW: N segments (planes) of HW.
/// </summary>
internal readonly record struct RowPlan(int Groups, int Period, int Runs, int RunLength, int Segments)
{
    public int SegmentLength => Runs * RunLength;

    public long SegmentStride => (long)Groups * SegmentLength;

    public int GroupSize => Segments * SegmentLength;

    public long Offset(int group, int segment) => (long)group * SegmentLength + segment * SegmentStride;

    public int AffineBase(int group) => group % Period * Runs;
}

/// <summary>
/// Columns: the tensor is [Batch, Rows, Width]; per batch index, statistics of each column over the rows, merged
/// over <see cref="PerGroup"/> adjacent columns into one group. γ, β are per column (<see cref="AffineColumns"/>)
/// or a single value. BatchNorm NHWC and (N, C): Batch 1; InstanceNorm NHWC: Batch N; GroupNorm NHWC view
/// [N, S, G, C/G]: Batch N, PerGroup C/G.
/// </summary>
internal readonly record struct ColumnPlan(int Batch, int Rows, int Width, int PerGroup, bool AffineColumns)
{
    public int GroupsPerBatch => Width / PerGroup;

    public int GroupSize => Rows * PerGroup;
}

/// <summary>Which kernels serve a layout.</summary>
internal enum PlanKind
{
    Reference,
    Rows,
    Columns,
}

/// <summary>Recognizes the fast layouts: axes of size 1 dropped, adjacent axes of the same kind merged, then matched.</summary>
internal static class KernelPlans
{
    private const int Kept = 0, Reduced = 1, KeptAffine = 2, ReducedAffine = 3;

    /// <summary>Segments shorter than this are better read as columns when the layout is both.</summary>
    private const int ShortSegment = 64;

    public static PlanKind Classify(RulerLayout layout, out RowPlan rows, out ColumnPlan columns)
    {
        int rank = layout.Dims.Length;
        Span<int> size = stackalloc int[rank];
        Span<int> kind = stackalloc int[rank];
        int m = Merge(layout, size, kind);
        bool isRows = MatchRows(size[..m], kind[..m], out rows);
        bool isColumns = MatchColumns(size[..m], kind[..m], out columns);
        if (isRows && (!isColumns || rows.Segments == 1 || rows.SegmentLength >= ShortSegment)) return PlanKind.Rows;
        return isColumns ? PlanKind.Columns : PlanKind.Reference;
    }

    private static int Merge(RulerLayout layout, Span<int> size, Span<int> kind)
    {
        int m = 0;
        for (int a = 0; a < layout.Dims.Length; a++)
        {
            if (layout.Dims[a] == 1) continue;
            int k = (layout.Reduced[a] ? Reduced : Kept) | (layout.Affine[a] ? KeptAffine : 0);
            if (m > 0 && kind[m - 1] == k) size[m - 1] *= layout.Dims[a];
            else
            {
                kind[m] = k;
                size[m++] = layout.Dims[a];
            }
        }
        return m;
    }

    /// <summary>[Reduced]? [Kept]? [KeptAffine]? [ReducedAffine]? [Reduced]? (the leading one only before a kept axis).</summary>
    private static bool MatchRows(ReadOnlySpan<int> size, ReadOnlySpan<int> kind, out RowPlan plan)
    {
        int i = 0, segments = 1, outer = 1, period = 1, runs = 1, runLength = 1;
        if (kind.Length > 1 && kind[0] == Reduced && (kind[1] == Kept || kind[1] == KeptAffine)) segments = size[i++];
        if (i < kind.Length && kind[i] == Kept) outer = size[i++];
        if (i < kind.Length && kind[i] == KeptAffine) period = size[i++];
        if (i < kind.Length && kind[i] == ReducedAffine) runs = size[i++];
        if (i < kind.Length && kind[i] == Reduced) runLength = size[i++];
        plan = new RowPlan(outer * period, period, runs, runLength, segments);
        return i == kind.Length;
    }

    /// <summary>[Kept]? [Reduced] then [Kept][Reduced]?, [KeptAffine][ReducedAffine]? or [ReducedAffine] (one group per batch index).</summary>
    private static bool MatchColumns(ReadOnlySpan<int> size, ReadOnlySpan<int> kind, out ColumnPlan plan)
    {
        plan = default;
        int i = 0, batch = 1, perGroup = 1;
        if (i < kind.Length && kind[i] == Kept) batch = size[i++];
        if (i >= kind.Length || kind[i] != Reduced) return false;
        int rows = size[i++];
        if (i < kind.Length && kind[i] == ReducedAffine)
        {
            // One group per batch index whose columns each have their γ, β (GroupNorm NHWC with G = 1).
            int columns = size[i++];
            plan = new ColumnPlan(batch, rows, columns, columns, true);
            return i == kind.Length;
        }
        if (i >= kind.Length || (kind[i] != Kept && kind[i] != KeptAffine)) return false;
        bool affine = kind[i] == KeptAffine;
        int groups = size[i++];
        if (i < kind.Length && kind[i] == (affine ? ReducedAffine : Reduced)) perGroup = size[i++];
        plan = new ColumnPlan(batch, rows, groups * perGroup, perGroup, affine);
        return i == kind.Length;
    }
}
