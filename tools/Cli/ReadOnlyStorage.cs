using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.Cli;

/// <summary>
/// A view of an <see cref="IDurableStorage"/> that reads and refuses every change: what <c>persist inspect</c>
/// gives the file backends, so that inspecting can never create, rename, delete or write a file, whatever path
/// the backend takes.
/// </summary>
/// <remarks>
/// The case this matters for: <c>FileConsensus</c> completes a write that another process took the baton for
/// but did not publish (a crashed or paused writer). Here that rename is refused, the head read fails with an
/// error naming the key, and the inspector reports it instead of changing the directory.
/// <para>
/// Directory sync and file flushes pass through: an fsync makes changes other processes already made durable and adds
/// nothing, and <c>FileConsensus</c> syncs before it returns a head (so that what it reports survives a
/// crash). Existing files are opened through the inner storage, which may open them read-write; no write,
/// flush or resize reaches them.
/// </para>
/// </remarks>
public sealed class ReadOnlyStorage(IDurableStorage inner) : IDurableStorage
{
    /// <summary>How many changes were refused (for tests and for saying why a read failed).</summary>
    public int Refused { get; private set; }

    public async ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode)
    {
        if (mode != OpenMode.OpenExisting)
        {
            return Refuse($"open '{path}' with {mode}");
        }
        IoResult<IDurableFile> opened = await inner.OpenAsync(path, mode);
        return opened.IsOk ? IoResult<IDurableFile>.Ok(new ReadOnlyFile(this, opened.Value!)) : opened;
    }

    public ValueTask<IoResult> DeleteAsync(string path) => new(Refuse($"delete '{path}'"));

    public ValueTask<IoResult> RenameAsync(string from, string to) => new(Refuse($"rename '{from}' to '{to}'"));

    public ValueTask<IoResult> CreateDirectoryAsync(string path) => new(Refuse($"create directory '{path}'"));

    public ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory) => inner.ListAsync(directory);

    public ValueTask<IoResult> SyncDirectoryAsync(string directory) => inner.SyncDirectoryAsync(directory);

    private IoResult Refuse(string operation)
    {
        Refused++;
        return IoResult.Fail(IoStatus.IoError, $"{operation}: refused, inspection is read-only");
    }

    private sealed class ReadOnlyFile(ReadOnlyStorage owner, IDurableFile file) : IDurableFile
    {
        public string Path => file.Path;

        public ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer) => file.ReadAsync(offset, buffer);

        public ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data) => new(owner.Refuse($"write '{Path}'"));

        // A flush only makes durable what other processes wrote, like the directory sync above.
        public ValueTask<IoResult> FlushAsync() => file.FlushAsync();

        // Locks change nothing on disk: inspection takes them as any reader does, to see a consistent file.
        public ValueTask<IoResult> LockAsync() => file.LockAsync();

        public ValueTask<IoResult> UnlockAsync() => file.UnlockAsync();

        public ValueTask<IoResult<long>> GetLengthAsync() => file.GetLengthAsync();

        public ValueTask<IoResult> SetLengthAsync(long length) => new(owner.Refuse($"resize '{Path}'"));

        public void Dispose() => file.Dispose();
    }
}
