using Magma.Inference;

namespace Magma.Samples;

/// <summary>
/// The command-line conventions every sample shares with the <c>magma</c> tool (docs/cli.md): <c>--help</c>, one-line
/// errors on stderr, and its exit codes: 0 done, 1 error (model package, input file, device, Python), 2 usage, 130
/// cancelled with Ctrl+C. Linked into each sample project, so a sample stays one folder with no extra library.
/// </summary>
internal sealed class SampleCommandLine
{
    public const int Success = 0;
    public const int Error = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _positional = [];

    private SampleCommandLine(string name) => Name = name;

    /// <summary>The sample's name, the prefix of its error lines.</summary>
    public string Name { get; }

    /// <summary>Words that are not options (a question, a screenshot file).</summary>
    public IReadOnlyList<string> Positional => _positional;

    /// <summary>
    /// Parses <paramref name="args"/> and runs <paramref name="body"/> with Ctrl+C wired to its token; prints
    /// <paramref name="usage"/> for <c>--help</c>/<c>-h</c>, and maps failures to one stderr line and an exit code.
    /// </summary>
    /// <param name="name">Sample name for messages.</param>
    /// <param name="usage">The help text.</param>
    /// <param name="args">The process arguments.</param>
    /// <param name="valueOptions">Options that take a value (<c>--model DIR</c>).</param>
    /// <param name="flags">Options without a value (<c>--cuda</c>).</param>
    /// <param name="positional">Whether words that are not options are accepted.</param>
    /// <param name="body">The sample; returns its exit code.</param>
    /// <param name="isExpected">Further exception types that are a user's problem (one line, exit 1), e.g. Python errors.</param>
    public static async Task<int> RunAsync(
        string name, string usage, string[] args, string[] valueOptions, string[] flags, bool positional,
        Func<SampleCommandLine, CancellationToken, Task<int>> body, Func<Exception, bool>? isExpected = null)
    {
        var line = new SampleCommandLine(name);
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(usage);
            return Success;
        }

        if (line.Parse(args, valueOptions, flags, positional) is { } usageError)
        {
            return line.UsageError(usageError);
        }

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // Let the sample unwind (browser, Python, model are disposed) instead of dying mid-write.
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return await body(line, cancel.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException || cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{name}: cancelled.");
            return Cancelled;
        }
        catch (SampleUsageException e)
        {
            return line.UsageError(e.Message);
        }
        catch (MagmaPackageException e)
        {
            Console.Error.WriteLine($"{name}: invalid model package: {e.Message}");
        }
        catch (Exception e) when (e is MagmaInputException or FileNotFoundException or DirectoryNotFoundException
                                      or UnauthorizedAccessException || isExpected?.Invoke(e) == true)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            // MagmaModel.Load throws this when --cuda was asked for and the CUDA provider cannot start.
            Console.Error.WriteLine($"{name}: {e.Message}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        return Error;
    }

    /// <summary>The value of an option, or null when it was not given.</summary>
    public string? Value(string option) => _values.GetValueOrDefault(option);

    /// <summary>Whether a flag was given.</summary>
    public bool Flag(string option) => _flags.Contains(option);

    /// <summary>The integer value of an option (at least <paramref name="minimum"/>), or <paramref name="fallback"/>.</summary>
    /// <exception cref="SampleUsageException">The value is not such an integer.</exception>
    public int Int(string option, int fallback, int minimum = 0)
    {
        if (Value(option) is not { } text)
        {
            return fallback;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value) && value >= minimum
            ? value
            : throw new SampleUsageException($"{option} must be an integer of at least {minimum}, not '{text}'.");
    }

    private string? Parse(string[] args, string[] valueOptions, string[] flags, bool positional)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (valueOptions.Contains(a))
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    return $"{a} needs a value.";
                }

                _values[a] = args[++i];
            }
            else if (flags.Contains(a))
            {
                _flags.Add(a);
            }
            else if (a.StartsWith('-') && a.Length > 1)
            {
                return $"unknown option '{a}'.";
            }
            else if (positional)
            {
                _positional.Add(a);
            }
            else
            {
                return $"unexpected argument '{a}'.";
            }
        }

        return null;
    }

    private int UsageError(string message)
    {
        Console.Error.WriteLine($"{Name}: {message}");
        Console.Error.WriteLine($"Run it with --help for usage.");
        return Usage;
    }
}

/// <summary>A wrong command line found after parsing (a value out of range); exit code 2.</summary>
internal sealed class SampleUsageException(string message) : Exception(message);
