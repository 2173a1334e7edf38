using Ruler.Nn.Bench;

string what = args.Length > 0 ? args[0] : "all";
if (what is "matmul" or "all") MatMulBench.Run();
