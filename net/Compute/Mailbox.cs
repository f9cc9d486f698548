using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Kernel.Net.Compute;

/// <summary>
/// A single-consumer queue for one node loop: producers (the transport's receive loops) post, one consumer
/// awaits. Not thread-safe: everything runs on the owning node's loop.
/// </summary>
/// <remarks>
/// At most one <see cref="ReceiveAsync"/> may be pending. After <see cref="Complete"/> the consumer drains what
/// is queued and then gets null. <see cref="WaitForSpaceAsync"/> lets a producer stop reading its connection while
/// the consumer is <see cref="CapacityMax"/> items behind, so a slow consumer pushes back on the peer instead of
/// growing the queue without limit.
/// </remarks>
internal sealed class Mailbox<T>(int capacityMax)
    where T : class
{
    private readonly Queue<T> _items = new();
    private TaskCompletionSource<T?>? _waiting;
    private CancellationTokenRegistration _waitingRegistration;
    private TaskCompletionSource? _space;
    private bool _completed;

    public int CapacityMax => capacityMax;

    public int Count => _items.Count;

    public bool IsCompleted => _completed;

    public void Post(T item)
    {
        if (_completed)
        {
            return;
        }
        if (_waiting is { } waiting)
        {
            _waiting = null;
            _waitingRegistration.Dispose();
            waiting.TrySetResult(item);
            return;
        }
        _items.Enqueue(item);
    }

    /// <summary>Drops everything queued (a connection was replaced: its undelivered items are stale).</summary>
    public void Clear()
    {
        _items.Clear();
        ReleaseSpace();
    }

    /// <summary>No more items: a pending and every later receive gets null once the queue is drained.</summary>
    public void Complete()
    {
        _completed = true;
        if (_items.Count == 0 && _waiting is { } waiting)
        {
            _waiting = null;
            _waitingRegistration.Dispose();
            waiting.TrySetResult(null);
        }
        ReleaseSpace();
    }

    public ValueTask<T?> ReceiveAsync(CancellationToken cancellationToken)
    {
        if (_items.TryDequeue(out T? item))
        {
            if (_items.Count < capacityMax)
            {
                ReleaseSpace();
            }
            return ValueTask.FromResult<T?>(item);
        }
        if (_completed)
        {
            return ValueTask.FromResult<T?>(null);
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T?>(cancellationToken);
        }
        if (_waiting is not null)
        {
            throw new InvalidOperationException("only one ReceiveAsync may be pending");
        }
        var waiting = new TaskCompletionSource<T?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting = waiting;
        if (cancellationToken.CanBeCanceled)
        {
            _waitingRegistration = cancellationToken.Register(() =>
            {
                if (_waiting == waiting)
                {
                    _waiting = null;
                }
                waiting.TrySetCanceled(cancellationToken);
            });
        }
        return new ValueTask<T?>(waiting.Task);
    }

    /// <summary>Completes when the queue is below its capacity (or completed or cleared).</summary>
    public Task WaitForSpaceAsync()
    {
        if (_items.Count < capacityMax || _completed)
        {
            return Task.CompletedTask;
        }
        _space ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _space.Task;
    }

    private void ReleaseSpace()
    {
        TaskCompletionSource? space = _space;
        _space = null;
        space?.TrySetResult();
    }
}
