using Ruler.Cli;

return RulerCommand.Run(args, Console.Out, Console.Error);
