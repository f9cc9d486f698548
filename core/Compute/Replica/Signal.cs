using System.Threading.Tasks;

namespace Kernel.Compute.Replica;

/// <summary>
/// A level-triggered wake-up between tasks of one node loop: <see cref="Set"/> completes the pending
/// <see cref="WaitAsync"/> (or the next one). Continuations run asynchronously, posted to the waiter's loop, so
/// the setter never runs the waiter's code inline.
/// </summary>
internal sealed class Signal
{
    private TaskCompletionSource? _waiter;
    private bool _set;

    public void Set()
    {
        if (_waiter is { } waiter)
        {
            _waiter = null;
            waiter.TrySetResult();
        }
        else
        {
            _set = true;
        }
    }

    public Task WaitAsync()
    {
        if (_set)
        {
            _set = false;
            return Task.CompletedTask;
        }
        _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _waiter.Task;
    }

    /// <summary>Forgets a pending set without waiting.</summary>
    public void Reset() => _set = false;
}
