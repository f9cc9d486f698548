using System;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// <see cref="ICompute"/> in production: the work runs on the .NET thread pool, so a node loop that hands its
/// encoding and merging there keeps serving its other work on its own core; the caller's await resumes on its loop.
/// </summary>
public sealed class ThreadPoolCompute : ICompute
{
    public static ThreadPoolCompute Instance { get; } = new();

    private ThreadPoolCompute()
    {
    }

    public Task<T> RunAsync<T>(Func<T> work) => Task.Run(work);
}
