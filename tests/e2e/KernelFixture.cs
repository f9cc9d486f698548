using System.Threading.Tasks;
using Npgsql;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>
/// One <c>kernel start</c> process shared by every test in the <see cref="KernelCollection"/>: started once on a fresh
/// temporary data directory, killed and deleted at the end. Tests use their own table names so they do not meet.
/// </summary>
public sealed class KernelFixture : IAsyncLifetime
{
    private KernelProcess? _kernel;

    public KernelProcess Kernel => _kernel ?? throw new System.InvalidOperationException("the fixture has not started");

    public async Task InitializeAsync()
    {
        string directory = KernelProcess.NewDataDirectory();
        try
        {
            _kernel = await KernelProcess.StartAsync(directory);
        }
        catch
        {
            KernelProcess.DeleteDirectory(directory);
            throw;
        }
    }

    public Task DisposeAsync()
    {
        if (_kernel is not null)
        {
            _kernel.Dispose();
            KernelProcess.DeleteDirectory(_kernel.DataDirectory);
        }
        return Task.CompletedTask;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(Kernel.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}

/// <summary>The tests that share one running kernel.</summary>
[CollectionDefinition(Name)]
public sealed class KernelCollection : ICollectionFixture<KernelFixture>
{
    public const string Name = "kernel";
}
