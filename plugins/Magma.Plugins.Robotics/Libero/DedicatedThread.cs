using System.Collections.Concurrent;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// One OS thread that runs queued work items in order. A MuJoCo/LIBERO environment renders through an OpenGL
/// context bound to the thread that created it; calls from any other thread render black frames without an error,
/// and awaiting code (Semantic Kernel in particular) resumes on arbitrary pool threads. So every call to an
/// environment is marshalled here.
/// </summary>
internal sealed class DedicatedThread : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread _thread;
    private int _disposed;

    internal DedicatedThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>The managed id of the thread (for tests and diagnostics).</summary>
    internal int ManagedThreadId => _thread.ManagedThreadId;

    internal bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>Runs <paramref name="work"/> on the thread; the returned task completes on the pool, never on this thread.</summary>
    internal Task<T> InvokeAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Item()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                completion.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                completion.TrySetResult(work());
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        }

        try
        {
            _queue.Add(Item, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(_thread.Name, "The environment thread has been stopped; create a new environment.");
        }

        return completion.Task;
    }

    private void Run()
    {
        foreach (Action item in _queue.GetConsumingEnumerable())
        {
            item();
        }
    }

    /// <summary>Lets queued work finish, then ends the thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.CompleteAdding();
        if (!IsCurrent)
        {
            _thread.Join();
        }

        _queue.Dispose();
    }
}
