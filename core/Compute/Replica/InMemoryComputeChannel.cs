using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Net.Compute;

namespace Kernel.Compute.Replica;

/// <summary>
/// An <see cref="IComputeChannel"/> inside one process, for tests and single-process setups: a controller
/// enqueues commands with <see cref="Enqueue"/> and reads what the replica sent from <see cref="Responses"/>.
/// </summary>
/// <remarks>
/// Continuations run asynchronously, so the enqueuing code never runs the replica's loop inline; under a node
/// loop they are posted to that loop. Owned by one node loop.
/// </remarks>
public sealed class InMemoryComputeChannel : IComputeChannel
{
    private readonly Queue<ComputeCommand?> _commands = new();
    private readonly List<ComputeResponse> _responses = [];
    private TaskCompletionSource<ComputeCommand?>? _waiter;
    private bool _closed;

    /// <summary>Every response sent so far, in order.</summary>
    public IReadOnlyList<ComputeResponse> Responses => _responses;

    /// <summary>Called on every send (after the response is recorded).</summary>
    public event Action<ComputeResponse>? Sent;

    public void Enqueue(ComputeCommand command)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Deliver(command);
    }

    /// <summary>Closes the channel for good: the replica's receive returns null after the queued commands.</summary>
    public void Close()
    {
        if (!_closed)
        {
            _closed = true;
            Deliver(null);
        }
    }

    public ValueTask<ComputeCommand?> ReceiveAsync(CancellationToken ct)
    {
        if (_commands.Count > 0)
        {
            return ValueTask.FromResult(_commands.Dequeue());
        }
        if (_waiter is not null)
        {
            throw new InvalidOperationException("only one receive may be pending");
        }
        var waiter = new TaskCompletionSource<ComputeCommand?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiter = waiter;
        if (ct.CanBeCanceled)
        {
            ct.Register(() =>
            {
                if (_waiter == waiter)
                {
                    _waiter = null;
                }
                waiter.TrySetCanceled(ct);
            });
        }
        return new ValueTask<ComputeCommand?>(waiter.Task);
    }

    public void Send(ComputeResponse response)
    {
        _responses.Add(response);
        Sent?.Invoke(response);
    }

    private void Deliver(ComputeCommand? command)
    {
        if (_waiter is { } waiter)
        {
            _waiter = null;
            waiter.TrySetResult(command);
        }
        else
        {
            _commands.Enqueue(command);
        }
    }
}
