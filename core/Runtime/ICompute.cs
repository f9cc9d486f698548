using System;
using System.Threading.Tasks;

namespace Kernel.Runtime;

/// <summary>
/// Where a node runs CPU-bound work that need not hold up its loop: encoding, decoding and merging data that
/// the work alone sees (Materialize runs the same kind of persist work on a separate "isolated" runtime).
/// </summary>
/// <remarks>
/// The work must be a pure function of what it captured: it may not touch the node's state, its I/O, clock or
/// random stream, and nothing may change what it reads while it runs, because in production it runs on another
/// thread at the same time as the loop. The await of the returned task resumes on the loop as usual.
/// </remarks>
public interface ICompute
{
    Task<T> RunAsync<T>(Func<T> work);
}

/// <summary>Runs work in line, on the caller's thread, before returning: for code outside a node (tests, tools).</summary>
public sealed class InlineCompute : ICompute
{
    public static InlineCompute Instance { get; } = new();

    private InlineCompute()
    {
    }

    public Task<T> RunAsync<T>(Func<T> work) => Task.FromResult(work());
}
