namespace Kernel.Tests.Unit.Runtime.Production;

/// <summary>The network contract on a default production host, whose nodes reach each other in memory (<c>InProcessConnection</c>).</summary>
public sealed class ProductionNetworkContractTests : NetworkContractTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness();
}
