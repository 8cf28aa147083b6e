using SamEngine.Cli;
using SamEngine.Cli.Commands;

return CliMain.Run(args, Console.Out, Console.Error);

namespace SamEngine.Cli
{
    /// <summary>Entry point of <c>samengine</c>: dispatches verbs, turns every error into one line and an exit code.</summary>
    public static class CliMain
    {
        private const string Usage = """
            usage: samengine <verb> [options]     (samengine <verb> --help for each)

              parity    run a parity fixture against the official outputs
              amg       segment everything in an image (automatic mask generator)
            """;

        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
            {
                (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            string verb = args[0];
            var rest = args.Skip(1).ToArray();
            (string Help, Func<IReadOnlyList<string>, TextWriter, TextWriter, int> Run)? command = verb switch
            {
                "parity" => (ParityCommand.Help, ParityCommand.Run),
                "amg" => (AmgCommand.Help, AmgCommand.Run),
                _ => null,
            };
            if (command is null)
            {
                stderr.WriteLine($"samengine: unknown verb '{verb}'");
                stderr.WriteLine(Usage);
                return 2;
            }
            if (rest.Contains("--help") || rest.Contains("-h"))
            {
                stdout.WriteLine(command.Value.Help);
                return 0;
            }
            try
            {
                return command.Value.Run(rest, stdout, stderr);
            }
            catch (UsageException e) { return Fail(stderr, e.Message, 2); }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or FormatException
                                          or System.Text.Json.JsonException or InvalidOperationException
                                          or SamEngine.IO.SafeTensorsException or SamEngine.Weights.WeightException)
            {
                return Fail(stderr, e.Message, 1);
            }
        }

        private static int Fail(TextWriter stderr, string message, int code)
        {
            stderr.WriteLine($"samengine: error: {message}");
            return code;
        }
    }
}
