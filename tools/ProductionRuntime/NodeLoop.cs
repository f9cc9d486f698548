using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Kernel.Runtime;
using System.Threading.Tasks;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// One node's event loop: a dedicated thread that runs posted callbacks one at a time, with a
/// <see cref="SynchronizationContext"/> installed so that every <c>await</c> on the loop resumes on it.
/// </summary>
/// <remarks>
/// This is the production half of the concurrency model in ARCHITECTURE.md section 4: the simulator runs
/// every node's queue on one thread and picks which item runs next; production gives each node its own
/// thread and lets the OS interleave nodes. Inside a node the two are the same: its RunAsync, await
/// continuations, timer callbacks and I/O completions all run on this thread, one at a time, so node state
/// needs no locks.
/// <para>
/// <see cref="Post(SendOrPostCallback, object?)"/> may be called from any thread (that is how socket, timer
/// and thread-pool completions come back). Everything else about the loop's state is guarded by
/// <c>_gate</c>. A callback that throws fails the loop: the first failure is recorded, queued work is dropped
/// and the thread exits, which the host observes through <see cref="Exited"/>.
/// </para>
/// <para>
/// The queue has no length limit on purpose: what lands in it is bounded by what the node itself started
/// (outstanding I/O, timers, spawned tasks), and refusing an I/O completion would lose it silently.
/// </para>
/// </remarks>
public sealed class NodeLoop : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new(); // guarded by _gate
    private int _queued; // _queue.Count, written under _gate, read without it by the idle spin
    private readonly Thread _thread;
    private readonly LoopSynchronizationContext _context;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _started; // guarded by _gate
    private bool _stopped; // guarded by _gate; once true the loop runs nothing more and accepts no posts
    private Exception? _failure; // guarded by _gate; the first failure only
    private string _failureSource = ""; // guarded by _gate

    public NodeLoop(string name)
    {
        Name = name;
        _context = new LoopSynchronizationContext(this);
        // A background thread: a node stuck in a callback must not keep the process alive after the host is done.
        _thread = new Thread(Run) { IsBackground = true, Name = "node " + name };
    }

    public string Name { get; }

    /// <summary>The context installed on the loop thread; awaits that capture it resume on the loop.</summary>
    public SynchronizationContext SynchronizationContext => _context;

    public bool IsOnLoopThread => Thread.CurrentThread == _thread;

    /// <summary>
    /// Whether the calling thread may block briefly without delaying other work: it is not a node loop's thread, or
    /// it is one whose queue holds nothing else to run right now.
    /// </summary>
    internal static bool CallerMayBlock() =>
        SynchronizationContext.Current is not LoopSynchronizationContext context || context.Loop.QueueIsEmpty();

    private bool QueueIsEmpty()
    {
        lock (_gate)
        {
            return _queue.Count == 0;
        }
    }

    /// <summary>Completes (on the thread pool) once the loop thread has exited, or at once if it never started.</summary>
    public Task Exited => _exited.Task;

    /// <summary>True once the loop was stopped or failed: it runs nothing more.</summary>
    public bool IsStopped
    {
        get
        {
            lock (_gate)
            {
                return _stopped;
            }
        }
    }

    /// <summary>The exception that failed the loop, if any: the first one only.</summary>
    public Exception? Failure
    {
        get
        {
            lock (_gate)
            {
                return _failure;
            }
        }
    }

    /// <summary>Where <see cref="Failure"/> came from, in plain words ("spawned task 'x'", "a callback on the loop").</summary>
    public string FailureSource
    {
        get
        {
            lock (_gate)
            {
                return _failureSource;
            }
        }
    }

    /// <summary>Starts the loop thread. Work posted before the start runs first, in order.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_started)
            {
                throw new InvalidOperationException($"node loop '{Name}' was already started");
            }
            _started = true;
            if (_stopped)
            {
                return; // stopped before it ever ran: Exited is already complete
            }
        }
        _thread.Start();
    }

    /// <summary>
    /// Queues <paramref name="callback"/> to run on the loop. Any thread may call it. Returns false, dropping
    /// the callback, once the loop has stopped: a completion that arrives after a crash is lost, as it would be
    /// in a dead process.
    /// </summary>
    public bool Post(SendOrPostCallback callback, object? state)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }
            _queue.Enqueue((callback, state));
            Volatile.Write(ref _queued, _queue.Count);
            Monitor.Pulse(_gate);
            return true;
        }
    }

    public bool Post(Action action) => Post(static state => ((Action)state!)(), action);

    /// <summary>
    /// Stops the loop without running anything more: queued work is dropped and the thread exits after the
    /// callback it is running (if any) returns. Returns false if it had already stopped or failed.
    /// </summary>
    public bool Stop()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }
            StopLocked();
            return true;
        }
    }

    /// <summary>
    /// Records <paramref name="exception"/> as the loop's failure and stops it, unless it already stopped
    /// (a failure after a crash or a normal end is not the node's outcome). Any thread may call it.
    /// </summary>
    public bool Fail(Exception exception, string source)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }
            _failure = exception;
            _failureSource = source;
            StopLocked();
            return true;
        }
    }

    /// <summary>
    /// Waits for the loop thread to exit. Returns false on timeout, or at once when called on the loop itself
    /// (a thread cannot wait for its own exit). .NET cannot abort a thread, so a callback that never returns
    /// keeps its thread alive; it runs nothing after that callback.
    /// </summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (IsOnLoopThread)
        {
            return false;
        }
        lock (_gate)
        {
            if (!_started)
            {
                return _stopped;
            }
        }
        return _thread.Join(timeout);
    }

    /// <summary>An always-on check for code that owns loop state (connections, send queues).</summary>
    public void AssertOnLoopThread(string operation)
    {
        if (!IsOnLoopThread)
        {
            throw new InvalidOperationException(
                $"{operation} must run on node loop '{Name}' but ran on thread '{Thread.CurrentThread.Name}' " +
                "(an await with ConfigureAwait(false), or a call from outside the node?)");
        }
    }

    public void Dispose() => Stop();

    private void StopLocked()
    {
        _stopped = true;
        _queue.Clear();
        _queued = 0;
        Monitor.PulseAll(_gate);
        if (!_started)
        {
            _exited.TrySetResult();
        }
    }

    private void Run()
    {
        SynchronizationContext.SetSynchronizationContext(_context);
        try
        {
            long spinTicks = IdleSpinWindow.InitialTicks;
            while (true)
            {
                long idleSince = 0;
                if (Volatile.Read(ref _queued) == 0)
                {
                    idleSince = Stopwatch.GetTimestamp();
                    SpinWhileIdle(idleSince + spinTicks);
                }
                (SendOrPostCallback Callback, object? State) item;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_stopped)
                    {
                        Monitor.Wait(_gate);
                    }
                    if (_stopped)
                    {
                        return;
                    }
                    item = _queue.Dequeue();
                    _queued = _queue.Count;
                }
                if (idleSince != 0)
                {
                    spinTicks = IdleSpinWindow.Next(spinTicks, Stopwatch.GetTimestamp() - idleSince);
                }
                try
                {
                    item.Callback(item.State);
                }
                catch (Exception exception)
                {
                    // Await continuations never throw here (their exceptions live in their tasks); what does is
                    // an async void method, a timer or Schedule callback, or a posted action: a node bug.
                    Fail(exception, "a callback on the loop");
                }
            }
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(null);
            _exited.TrySetResult();
        }
    }

    /// <summary>
    /// Spins until <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp) while the queue is empty,
    /// yielding the CPU to any other runnable thread as it goes. A loop that went to sleep is woken by the OS only
    /// after the CPU it slept on has been brought back from idle, which on a virtual machine took about 100 µs (a
    /// scheduler trace of one UPDATE: the socket thread posted a request at t, the loop ran it at t + 107 µs); a loop
    /// still spinning sees the work at once. How long to spin is <see cref="IdleSpinWindow"/>'s call.
    /// </summary>
    private void SpinWhileIdle(long deadline)
    {
        var spinner = new SpinWait();
        while (Volatile.Read(ref _queued) == 0 && Stopwatch.GetTimestamp() < deadline)
        {
            // Never Thread.Sleep(1): a millisecond is far longer than the spin.
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Routes awaits captured on the loop back onto it.</summary>
    private sealed class LoopSynchronizationContext(NodeLoop loop) : SynchronizationContext, ILoopContext
    {
        public NodeLoop Loop => loop;

        public override void Post(SendOrPostCallback d, object? state) => loop.Post(d, state);

        /// <summary>
        /// Runs inline on the loop thread; from any other thread it throws, because blocking a foreign thread
        /// on a node's loop is how deadlocks between nodes start.
        /// </summary>
        public override void Send(SendOrPostCallback d, object? state)
        {
            if (!loop.IsOnLoopThread)
            {
                throw new NotSupportedException($"Send to node loop '{loop.Name}' from another thread; use Post");
            }
            d(state);
        }

        // One context per loop: copies would compare unequal and defeat inline continuations.
        public override SynchronizationContext CreateCopy() => this;
    }
}
