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

              segment   masks for points and a box: PNGs, an overlay and a JSON record
              embed     encode an image once and save the embedding
              info      a model's architecture, parameter count, dtype and size
              convert   an official .pth or safetensors checkpoint to safetensors (fp16 by default)
              parity    run a parity fixture against the official outputs
              bench     time loading, the encoder and the decoder; measure the FP32 peak
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
                "segment" => (SegmentCommand.Help, SegmentCommand.Run),
                "embed" => (EmbedCommand.Help, EmbedCommand.Run),
                "info" => (InfoCommand.Help, InfoCommand.Run),
                "convert" => (ConvertCommand.Help, ConvertCommand.Run),
                "bench" => (BenchCommand.Help, BenchCommand.Run),
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
