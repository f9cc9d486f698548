namespace Kernel.Runtime;

/// <summary>
/// Marks a <see cref="System.Threading.SynchronizationContext"/> that runs everything posted to it one item at a
/// time, in order, on a single thread: a node loop in production, a node's queue in the simulator. Code may then
/// defer work with <c>await Task.Yield()</c> and know it runs after the caller's synchronous work and never
/// alongside it, which a general context (a test framework's, which may run posts on several threads) does not promise.
/// </summary>
public interface ILoopContext
{
}
