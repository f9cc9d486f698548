using System.Threading;
using System.Threading.Tasks;
using Kernel.Net.Compute;

namespace Kernel.Compute.Replica;

/// <summary>
/// The replica's side of the controller protocol: commands in (each controller connection starts with a
/// <see cref="Hello"/>), responses out to the current connection. The net transport adapts to this.
/// </summary>
public interface IComputeChannel
{
    /// <summary>The next command; null when the channel is closed for good.</summary>
    ValueTask<ComputeCommand?> ReceiveAsync(CancellationToken ct);

    /// <summary>Sends to the current controller connection; dropped if there is none.</summary>
    void Send(ComputeResponse response);
}
