using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Ruler.Benchmarks.RowNormBenchmarks).Assembly).Run(args);
