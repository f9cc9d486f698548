using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;

namespace Kernel.Tools.Cli;

/// <summary>What Blob holds under a shard's prefix, compared with what its current state references.</summary>
public sealed record BlobSummary(int Files, long Bytes, int ReferencedMissing, int Unreferenced, long UnreferencedBytes)
{
    public static BlobSummary Compare(ShardState state, IReadOnlyList<BlobMetadata> blobs)
    {
        var referenced = new HashSet<string>(state.ReferencedBlobKeys(), StringComparer.Ordinal);
        long bytes = 0;
        int unreferenced = 0;
        long unreferencedBytes = 0;
        foreach (BlobMetadata blob in blobs)
        {
            bytes += blob.SizeBytes;
            if (!referenced.Remove(blob.Key))
            {
                unreferenced++;
                unreferencedBytes += blob.SizeBytes;
            }
        }
        return new BlobSummary(blobs.Count, bytes, referenced.Count, unreferenced, unreferencedBytes);
    }
}

/// <summary>Renders shard states for <c>persist inspect</c>: aligned plain-text tables, or JSON.</summary>
public static class ShardReport
{
    /// <summary>One shard in full: state, batches, readers, writers, rollups, and the blob cross-check.</summary>
    public static string Table(ShardState state, BlobSummary? blob)
    {
        var text = new StringBuilder();
        (int parts, long updates, long bytes) = Totals(state);
        var header = new TextTable(["", ""]);
        header.Add("shard", state.Shard.Value);
        header.Add("seqno", Number(state.SeqNo));
        header.Add("written at", Time(state.WalltimeMs));
        header.Add("since", state.Since.ToString());
        header.Add("upper", state.Upper.ToString());
        header.Add("state", state.IsTombstone ? "dropped" : "live");
        header.Add("last gc seqno", Number(state.LastGcSeqNo));
        header.Add("data", $"{Count(state.Batches.Length, "batch", "batches")}, {Count(parts, "part", "parts")}, {Count(updates, "update", "updates")}, {Count(bytes, "byte", "bytes")}");
        if (blob is not null)
        {
            header.Add("blob", $"{Count(blob.Files, "file", "files")}, {Count(blob.Bytes, "byte", "bytes")} under the shard's prefix; " +
                $"{Number(blob.ReferencedMissing)} referenced missing; {Number(blob.Unreferenced)} not referenced by this state ({Number(blob.UnreferencedBytes)} bytes)");
        }
        header.WriteTo(text, withHeader: false);

        text.Append('\n').Append("batches (").Append(Number(state.Batches.Length)).Append(")\n");
        var batches = new TextTable(["#", "lower", "upper", "since", ">parts", ">updates", ">bytes"]);
        for (int i = 0; i < state.Batches.Length; i++)
        {
            HollowBatch batch = state.Batches[i];
            BatchDescription d = batch.Description;
            batches.Add(Number(i), d.Lower.ToString(), d.Upper.ToString(), d.Since.ToString(), Number(batch.Parts.Length), Number(batch.Updates), Number(BatchBytes(batch)));
        }
        batches.WriteTo(text);

        text.Append('\n').Append("leased readers (").Append(Number(state.LeasedReaders.Count)).Append(")\n");
        var leased = new TextTable(["id", "purpose", "since", ">seqno hold", "last heartbeat", ">lease ms", "expires"]);
        foreach ((string id, LeasedReaderState reader) in state.LeasedReaders)
        {
            leased.Add(id, reader.Purpose, reader.Since.ToString(), Number(reader.SeqNoHold), Time(reader.LastHeartbeatMs), Number(reader.LeaseDurationMs), Time(reader.LastHeartbeatMs + reader.LeaseDurationMs));
        }
        leased.WriteTo(text);

        text.Append('\n').Append("critical readers (").Append(Number(state.CriticalReaders.Count)).Append(")\n");
        var critical = new TextTable(["id", "purpose", "since", ">opaque"]);
        foreach ((string id, CriticalReaderState reader) in state.CriticalReaders)
        {
            critical.Add(id, reader.Purpose, reader.Since.ToString(), Number(reader.Opaque));
        }
        critical.WriteTo(text);

        text.Append('\n').Append("writers (").Append(Number(state.Writers.Count)).Append(")\n");
        var writers = new TextTable(["id", "purpose", "last idempotency token", "last write upper", "last heartbeat", ">lease ms", "expires"]);
        foreach ((string id, WriterState writer) in state.Writers)
        {
            writers.Add(id, writer.Purpose, Token(writer.LastToken) ?? "none", writer.MostRecentWriteUpper.ToString(), Time(writer.LastHeartbeatMs), Number(writer.LeaseDurationMs), Time(writer.LastHeartbeatMs + writer.LeaseDurationMs));
        }
        writers.WriteTo(text);

        text.Append('\n').Append("rollups (").Append(Number(state.Rollups.Count)).Append(")\n");
        var rollups = new TextTable([">seqno", "key"]);
        foreach ((ulong seqno, string key) in state.Rollups)
        {
            rollups.Add(Number(seqno), key);
        }
        rollups.WriteTo(text);
        return text.ToString();
    }

    /// <summary>Every shard, one line each.</summary>
    public static string ListTable(IReadOnlyList<ShardState> states)
    {
        var table = new TextTable(["shard", ">seqno", "since", "upper", ">batches", ">bytes", "state"]);
        foreach (ShardState state in states)
        {
            table.Add(state.Shard.Value, Number(state.SeqNo), state.Since.ToString(), state.Upper.ToString(), Number(state.Batches.Length), Number(Totals(state).Bytes), state.IsTombstone ? "dropped" : "live");
        }
        var text = new StringBuilder();
        text.Append(Number(states.Count)).Append(states.Count == 1 ? " shard\n" : " shards\n");
        table.WriteTo(text);
        return text.ToString();
    }

    public static string Json(ShardState state, BlobSummary? blob)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            WriteState(writer, state, blob);
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    public static string ListJson(IReadOnlyList<ShardState> states)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("shards");
            foreach (ShardState state in states)
            {
                writer.WriteStartObject();
                writer.WriteString("shard", state.Shard.Value);
                writer.WriteNumber("seqno", state.SeqNo);
                WriteFrontier(writer, "since", state.Since);
                WriteFrontier(writer, "upper", state.Upper);
                writer.WriteNumber("batchCount", state.Batches.Length);
                writer.WriteNumber("bytes", Totals(state).Bytes);
                writer.WriteBoolean("dropped", state.IsTombstone);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteState(Utf8JsonWriter writer, ShardState state, BlobSummary? blob)
    {
        (int parts, long updates, long bytes) = Totals(state);
        writer.WriteStartObject();
        writer.WriteString("shard", state.Shard.Value);
        writer.WriteNumber("seqno", state.SeqNo);
        writer.WriteNumber("walltimeMs", state.WalltimeMs);
        writer.WriteString("writtenAt", Time(state.WalltimeMs));
        WriteFrontier(writer, "since", state.Since);
        WriteFrontier(writer, "upper", state.Upper);
        writer.WriteBoolean("dropped", state.IsTombstone);
        writer.WriteNumber("lastGcSeqno", state.LastGcSeqNo);
        writer.WriteNumber("batchCount", state.Batches.Length);
        writer.WriteNumber("partCount", parts);
        writer.WriteNumber("updates", updates);
        writer.WriteNumber("bytes", bytes);

        writer.WriteStartArray("batches");
        foreach (HollowBatch batch in state.Batches)
        {
            writer.WriteStartObject();
            WriteFrontier(writer, "lower", batch.Description.Lower);
            WriteFrontier(writer, "upper", batch.Description.Upper);
            WriteFrontier(writer, "since", batch.Description.Since);
            writer.WriteNumber("partCount", batch.Parts.Length);
            writer.WriteNumber("updates", batch.Updates);
            writer.WriteNumber("bytes", BatchBytes(batch));
            writer.WriteStartArray("parts");
            foreach (PartRef part in batch.Parts)
            {
                writer.WriteStartObject();
                writer.WriteString("key", part.Key);
                writer.WriteNumber("bytes", part.EncodedSizeBytes);
                writer.WriteNumber("updates", part.Updates);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("leasedReaders");
        foreach ((string id, LeasedReaderState reader) in state.LeasedReaders)
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("purpose", reader.Purpose);
            WriteFrontier(writer, "since", reader.Since);
            writer.WriteNumber("seqnoHold", reader.SeqNoHold);
            WriteLease(writer, reader.LastHeartbeatMs, reader.LeaseDurationMs);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("criticalReaders");
        foreach ((string id, CriticalReaderState reader) in state.CriticalReaders)
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("purpose", reader.Purpose);
            WriteFrontier(writer, "since", reader.Since);
            writer.WriteNumber("opaque", reader.Opaque);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("writers");
        foreach ((string id, WriterState w) in state.Writers)
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("purpose", w.Purpose);
            if (Token(w.LastToken) is string token)
            {
                writer.WriteString("lastIdempotencyToken", token);
            }
            else
            {
                writer.WriteNull("lastIdempotencyToken");
            }
            WriteFrontier(writer, "mostRecentWriteUpper", w.MostRecentWriteUpper);
            WriteLease(writer, w.LastHeartbeatMs, w.LeaseDurationMs);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("rollups");
        foreach ((ulong seqno, string key) in state.Rollups)
        {
            writer.WriteStartObject();
            writer.WriteNumber("seqno", seqno);
            writer.WriteString("key", key);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        if (blob is not null)
        {
            writer.WriteStartObject("blob");
            writer.WriteNumber("files", blob.Files);
            writer.WriteNumber("bytes", blob.Bytes);
            writer.WriteNumber("referencedMissing", blob.ReferencedMissing);
            writer.WriteNumber("unreferencedFiles", blob.Unreferenced);
            writer.WriteNumber("unreferencedBytes", blob.UnreferencedBytes);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    /// <summary>A frontier as an antichain: <c>[]</c> when empty (closed), else <c>[t]</c>.</summary>
    private static void WriteFrontier(Utf8JsonWriter writer, string name, Frontier frontier)
    {
        // Raw, so that indentation keeps an antichain on one line: "upper": [5].
        writer.WritePropertyName(name);
        writer.WriteRawValue(frontier.IsEmpty ? "[]" : "[" + Number(frontier.Time) + "]");
    }

    private static void WriteLease(Utf8JsonWriter writer, long lastHeartbeatMs, long leaseDurationMs)
    {
        writer.WriteNumber("lastHeartbeatMs", lastHeartbeatMs);
        writer.WriteString("lastHeartbeat", Time(lastHeartbeatMs));
        writer.WriteNumber("leaseDurationMs", leaseDurationMs);
        writer.WriteString("expiresAt", Time(lastHeartbeatMs + leaseDurationMs));
    }

    private static (int Parts, long Updates, long Bytes) Totals(ShardState state)
    {
        int parts = 0;
        long updates = 0;
        long bytes = 0;
        foreach (HollowBatch batch in state.Batches)
        {
            parts += batch.Parts.Length;
            updates += batch.Updates;
            bytes += BatchBytes(batch);
        }
        return (parts, updates, bytes);
    }

    private static long BatchBytes(HollowBatch batch)
    {
        long bytes = 0;
        foreach (PartRef part in batch.Parts)
        {
            bytes += part.EncodedSizeBytes;
        }
        return bytes;
    }

    private static string? Token(IdempotencyToken token) => token.IsNone ? null : token.ToString();

    private static string Count(long value, string one, string many) => Number(value) + " " + (value == 1 ? one : many);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Wall time in ms since the Unix epoch as ISO 8601 UTC; out-of-range values print as the raw number.</summary>
    private static string Time(long unixMs)
    {
        if (unixMs < -62_135_596_800_000 || unixMs > 253_402_300_799_999)
        {
            return Number(unixMs) + " ms";
        }
        return DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>Columns padded to their widest cell; a header starting with '>' right-aligns its column (numbers).</summary>
    private sealed class TextTable(string[] headers)
    {
        private readonly List<string[]> _rows = [];

        public void Add(params string[] cells)
        {
            if (cells.Length != headers.Length)
            {
                throw new ArgumentException($"{cells.Length} cells for {headers.Length} columns", nameof(cells));
            }
            _rows.Add(cells);
        }

        public void WriteTo(StringBuilder text, bool withHeader = true)
        {
            if (_rows.Count == 0 && withHeader)
            {
                text.Append("  (none)\n");
                return;
            }
            string[] names = new string[headers.Length];
            bool[] right = new bool[headers.Length];
            int[] widths = new int[headers.Length];
            for (int c = 0; c < headers.Length; c++)
            {
                right[c] = headers[c].StartsWith('>');
                names[c] = right[c] ? headers[c][1..] : headers[c];
                widths[c] = withHeader ? names[c].Length : 0;
            }
            foreach (string[] row in _rows)
            {
                for (int c = 0; c < row.Length; c++)
                {
                    widths[c] = Math.Max(widths[c], row[c].Length);
                }
            }
            if (withHeader)
            {
                WriteRow(text, names, widths, right);
            }
            foreach (string[] row in _rows)
            {
                WriteRow(text, row, widths, right);
            }
        }

        private static void WriteRow(StringBuilder text, string[] cells, int[] widths, bool[] right)
        {
            var line = new StringBuilder("  ");
            for (int c = 0; c < cells.Length; c++)
            {
                if (c > 0)
                {
                    line.Append("  ");
                }
                line.Append(right[c] ? cells[c].PadLeft(widths[c]) : cells[c].PadRight(widths[c]));
            }
            text.Append(line.ToString().TrimEnd()).Append('\n');
        }
    }
}
