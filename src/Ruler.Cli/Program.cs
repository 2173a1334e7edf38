using Ruler.Cli;

return RulerCommand.Build().Parse(args).Invoke();
