namespace Ruler.Internal;

// One argument struct per row op (RowKernels' entry points). Pointers are pinned by the caller and already checked
// against the layout (Kernels); a pointer documented as optional may be null.

/// <summary>Moments of every group of x.</summary>
internal unsafe struct RowMomentsArgs<T> where T : unmanaged
{
    public T* X;
    public GroupMoments* Moments;
}

/// <summary>Forward: mean, rstd of each group measured from x and written; y = x̂·γ + β (γ, β optional).</summary>
internal unsafe struct RowForwardArgs<T> where T : unmanaged
{
    public T* X, Gamma, Beta, Y;
    public double* Mean, Rstd;
    public bool Center;
    public double Eps;
}

/// <summary>Normalize with given statistics: y = ((x − mean) − meanLo)·rstd·γ + β (meanLo optional: float64 centres' remainders).</summary>
internal unsafe struct RowNormalizeArgs<T> where T : unmanaged
{
    public T* X, Gamma, Beta, Y;
    public double* Mean, Rstd, MeanLo;
}

/// <summary>Residual add + forward: h = x + u (written), then the forward of h.</summary>
internal unsafe struct RowAddForwardArgs<T> where T : unmanaged
{
    public T* X, U, H, Gamma, Beta, Y;
    public double* Mean, Rstd;
    public bool Center;
    public double Eps;
}

/// <summary>
/// Backward: dx, and dγ, dβ (each optional) of AffineSize elements. FromInput false: the statistics were constants
/// (dx = rstd·γ·dy). MeanLo optional (float64 centres' remainders).
/// </summary>
internal unsafe struct RowBackwardArgs<T> where T : unmanaged
{
    public T* X, Gamma, Dy, Dx, Dgamma, Dbeta;
    public double* Mean, Rstd, MeanLo;
    public int AffineSize;
    public bool Center, FromInput;
}

/// <summary>Backward of the residual add + norm: dsum = dh + normᵀ(dy) (dh optional), dγ, dβ optional.</summary>
internal unsafe struct RowAddBackwardArgs<T> where T : unmanaged
{
    public T* H, Gamma, Dy, Dh, Dsum, Dgamma, Dbeta;
    public double* Mean, Rstd, MeanLo;
    public int AffineSize;
    public bool Center;
}
