using Ruler.Nn;
using Ruler.Nn.Bench;

string what = args.Length > 0 ? args[0] : "all";
var norm = args.Length > 1 ? Enum.Parse<NormKind>(args[1]) : NormKind.LayerNorm;
if (what is "matmul" or "all") MatMulBench.Run();
if (what is "transformer" or "all") TrainBench.Transformer(norm);
if (what is "cnn" or "all") TrainBench.Cnn(args.Length > 1 ? norm : NormKind.BatchNorm);
