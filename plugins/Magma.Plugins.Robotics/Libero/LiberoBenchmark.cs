using Magma.Plugins.Robotics.Python;
using Python.Runtime;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>The LIBERO benchmark catalogue: suites (<c>benchmark.get_benchmark_dict()</c>) and their tasks.</summary>
public sealed class LiberoBenchmark
{
    private readonly PythonHost _host;

    /// <summary>Creates the catalogue over a started Python host (LIBERO must be importable there).</summary>
    public LiberoBenchmark(PythonHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
    }

    /// <summary>The suite names LIBERO knows (e.g. <c>libero_goal</c>).</summary>
    /// <exception cref="PythonErrorException">LIBERO is not importable or failed; the message has the Python error.</exception>
    public Task<IReadOnlyList<string>> ListSuitesAsync(CancellationToken cancellationToken = default) =>
        Task.Run<IReadOnlyList<string>>(
            () => _host.Invoke("libero.libero.benchmark.get_benchmark_dict", () =>
            {
                using PyObject names = LiberoBridge.Module.InvokeMethod("suites");
                return names.As<string[]>();
            }),
            cancellationToken);

    /// <summary>The tasks of a suite, in task-id order.</summary>
    /// <exception cref="PythonErrorException">Unknown suite (the message lists the known ones) or a LIBERO error.</exception>
    public Task<IReadOnlyList<LiberoTask>> ListTasksAsync(string suite, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(suite);
        return Task.Run<IReadOnlyList<LiberoTask>>(
            () => _host.Invoke($"LIBERO tasks of '{suite}'", () =>
            {
                using var name = new PyString(suite);
                using PyObject list = LiberoBridge.Module.InvokeMethod("tasks", name);
                var tasks = new List<LiberoTask>();
                long n = list.Length();
                for (int i = 0; i < n; i++)
                {
                    using PyObject info = list[i];
                    tasks.Add(LiberoBridge.ToTask(suite, i, info));
                }

                return tasks;
            }),
            cancellationToken);
    }

    /// <summary>Finds a task by suite and id, or by its instruction (<c>task.language</c>, case-insensitive) across the given suites.</summary>
    /// <returns>The task, or null when none matches.</returns>
    public async Task<LiberoTask?> FindTaskAsync(string instructionOrName, IEnumerable<string>? suites = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instructionOrName);
        string wanted = instructionOrName.Trim();
        foreach (string suite in suites ?? await ListSuitesAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (LiberoTask task in await ListTasksAsync(suite, cancellationToken).ConfigureAwait(false))
            {
                if (string.Equals(task.Language, wanted, StringComparison.OrdinalIgnoreCase) ||
                    string.Equals(task.Name, wanted, StringComparison.OrdinalIgnoreCase))
                {
                    return task;
                }
            }
        }

        return null;
    }
}
