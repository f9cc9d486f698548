using Kernel.Tools.ProductionRuntime;

namespace Kernel.Tests.Unit.Runtime.Production;

/// <summary>
/// The network contract over sockets alone: the default host connects its own nodes in memory
/// (<see cref="ProductionNetworkContractTests"/> covers that path), so this run turns the shortcut off.
/// </summary>
public sealed class SocketNetworkContractTests : NetworkContractTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness(new TcpNetworkOptions { InProcessShortcut = false });
}
