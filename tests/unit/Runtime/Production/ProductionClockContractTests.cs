namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class ProductionClockContractTests : ClockContractTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness();
}
