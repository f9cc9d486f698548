namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class ProductionComputeContractTests : ComputeContractTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness();
}
