namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class ProductionNetworkContractTests : NetworkContractTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness();
}
