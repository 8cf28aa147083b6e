using System.CommandLine;
using System.CommandLine.Parsing;
using SamEngine.Cli;
using SamEngine.Cli.Commands;

return CliMain.Run(args, Console.Out, Console.Error);

namespace SamEngine.Cli
{
    /// <summary>
    /// Entry point of <c>samengine</c>: parses the verbs with System.CommandLine and turns every error
    /// into one line, <c>samengine: error: ...</c>, with exit code 2 for a usage mistake and 1 for bad
    /// input files.
    /// </summary>
    public static class CliMain
    {
        /// <summary>The <c>samengine</c> command with every verb (a new one per call: commands hold parse state).</summary>
        public static Command Create()
        {
            var root = new Command("samengine") { HelpWriter.Option() };
            foreach (var verb in new[]
                     {
                         SegmentCommand.Create(), EmbedCommand.Create(), InfoCommand.Create(), ConvertCommand.Create(),
                         ParityCommand.Create(), BenchCommand.Create(), AmgCommand.Create(), MergeCommand.Create(), ServeCommand.Create(),
                     })
                root.Add(verb);
            return root;
        }

        /// <summary>Runs <c>samengine</c> with <paramref name="args"/>; returns the exit code.</summary>
        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var root = Create();
            if (args.Length == 0)
            {
                HelpWriter.Write(root, stderr);
                return 2;
            }
            if (args[0] == "help") args = ["--help"];
            // No response files: an argument starting with '@' is a path like any other.
            var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parsed.Action is not HelpWriter && parsed.Errors.Count > 0) return Fail(stderr, ParseError(parsed, root), 2);
            try
            {
                return parsed.Invoke(new InvocationConfiguration
                {
                    Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
                });
            }
            catch (UsageException e) { return Fail(stderr, e.Message, 2); }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or FormatException
                                          or System.Text.Json.JsonException or InvalidOperationException
                                          or SamEngine.IO.SafeTensorsException or SamEngine.Weights.WeightException)
            {
                return Fail(stderr, e.Message, 1);
            }
        }

        /// <summary>
        /// One parse error, prefixed with the verb: an unknown word first, then a value that does not
        /// parse (reported by its option), then what the verb as a whole lacks.
        /// </summary>
        private static string ParseError(ParseResult parsed, Command root)
        {
            var command = parsed.CommandResult.Command;
            if (command == root)
                return parsed.UnmatchedTokens.Count > 0
                    ? $"unknown verb '{parsed.UnmatchedTokens[0]}' (see 'samengine --help')"
                    : $"{Sentence(parsed.Errors[0].Message)} (see 'samengine --help')";
            if (parsed.UnmatchedTokens.Count > 0)
                return $"{command.Name}: unknown argument '{parsed.UnmatchedTokens[0]}' (see 'samengine {command.Name} --help')";
            var error = parsed.Errors.OrderBy(e => e.SymbolResult is CommandResult ? 1 : 0).First();
            return $"{command.Name}: {Sentence(error.Message)}";
        }

        /// <summary>System.CommandLine's messages start with a capital ("Option '--out' is required."); ours do not.</summary>
        private static string Sentence(string message) =>
            message.Length > 1 && char.IsUpper(message[0]) && char.IsLower(message[1]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;

        private static int Fail(TextWriter stderr, string message, int code)
        {
            // Messages are one line by contract, also where a library's message is not.
            stderr.WriteLine($"samengine: error: {message.ReplaceLineEndings(" ")}");
            return code;
        }
    }
}
