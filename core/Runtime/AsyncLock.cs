using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Kernel.Runtime;

/// <summary>
/// Mutual exclusion between tasks of one node loop, across awaits: the holder of the lock may await, and other
/// tasks that ask for it wait in FIFO order. Release hands the lock to the next waiter, whose continuation is
/// posted back to the loop it awaited on (no thread-pool hop; the completion sources run continuations inline).
/// </summary>
/// <remarks>Only for use from one node loop; it does no thread synchronization.</remarks>
public sealed class AsyncLock
{
    private readonly Queue<TaskCompletionSource<IDisposable>> _waiters = new();
    private bool _held;

    /// <summary>Whether a task holds the lock or waits for it.</summary>
    public bool IsContended => _held || _waiters.Count > 0;

    /// <summary>Completes with a releaser once this task holds the lock; dispose it to release.</summary>
    public Task<IDisposable> AcquireAsync()
    {
        if (!_held)
        {
            _held = true;
            return Task.FromResult<IDisposable>(new Releaser(this));
        }
        var waiter = new TaskCompletionSource<IDisposable>();
        _waiters.Enqueue(waiter);
        return waiter.Task;
    }

    private void Release()
    {
        if (_waiters.Count > 0)
        {
            _waiters.Dequeue().TrySetResult(new Releaser(this));
            return;
        }
        _held = false;
    }

    private sealed class Releaser(AsyncLock owner) : IDisposable
    {
        private bool _released;

        public void Dispose()
        {
            if (!_released)
            {
                _released = true;
                owner.Release();
            }
        }
    }
}
