using System;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>
/// <see cref="ICompute"/> in the simulator: the work runs in line (there is one thread), and the caller resumes as
/// a later item of its node's queue, so that other work of the node and of the world interleaves with the
/// computation's result as it would with work on another core. A crash drops the pending resumption.
/// </summary>
internal sealed class SimCompute : ICompute
{
    public static SimCompute Instance { get; } = new();

    public async Task<T> RunAsync<T>(Func<T> work)
    {
        T result = work();
        await Task.Yield();
        return result;
    }
}
