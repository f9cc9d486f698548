namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class ProductionStorageContractTests : StorageContractTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness();
}
