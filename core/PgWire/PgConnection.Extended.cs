using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.PgWire;

/// <summary>The extended query protocol: Parse, Bind, Describe, Execute (with row limits) and Close.</summary>
internal sealed partial class PgConnection
{
    private void Parse(IPgSession session, PgBodyReader body)
    {
        string name = body.ReadCString();
        string sql = body.ReadCString();
        short count = body.ReadInt16();
        var declared = new SqlType?[Math.Max((int)count, 0)];
        for (int i = 0; i < declared.Length; i++)
        {
            int oid = body.ReadInt32();
            if (body.Failed)
            {
                break;
            }
            if (oid == 0)
            {
                continue; // unspecified: the session infers it
            }
            if (SqlType.FromOid(oid) is not SqlType type)
            {
                ErrorInExtended(new PgError("0A000", $"parameter type with OID {Format(oid)} is not supported"));
                return;
            }
            declared[i] = type;
        }
        if (count < 0)
        {
            body.Fail("invalid parameter count");
        }
        body.ExpectEnd();
        if (body.Failed)
        {
            ErrorInExtended(new PgError("08P01", body.Failure!));
            return;
        }
        if (name.Length > 0 && _statements.ContainsKey(name))
        {
            ErrorInExtended(new PgError("42P05", $"prepared statement {Quote(name)} already exists"));
            return;
        }
        PgPrepareResult result = session.Prepare(sql, declared);
        if (result.Statement is not PgPrepared statement)
        {
            ErrorInExtended(result.Error ?? new PgError("XX000", "the session failed to prepare the statement without saying why"));
            return;
        }
        if (statement.ParameterTypes.Count < declared.Length)
        {
            throw new InvalidOperationException(
                $"the session prepared {statement.ParameterTypes.Count} parameter types for {declared.Length} declared ones");
        }
        _statements[name] = statement;
        _writer.Empty((byte)'1');
    }

    private void Bind(PgBodyReader body)
    {
        string portalName = body.ReadCString();
        string statementName = body.ReadCString();
        short[] parameterFormats = ReadFormats(ref body);
        short parameterCount = body.ReadInt16();
        if (parameterCount < 0)
        {
            body.Fail("invalid parameter count");
        }
        var values = new (bool IsNull, byte[] Bytes)[Math.Max((int)parameterCount, 0)];
        for (int i = 0; i < values.Length && !body.Failed; i++)
        {
            int length = body.ReadInt32();
            values[i] = length == -1 ? (true, []) : (false, body.ReadBytes(length).ToArray());
        }
        short[] resultFormats = ReadFormats(ref body);
        body.ExpectEnd();
        if (body.Failed)
        {
            ErrorInExtended(new PgError("08P01", body.Failure!));
            return;
        }
        if (!_statements.TryGetValue(statementName, out PgPrepared? statement))
        {
            ErrorInExtended(new PgError("26000", $"prepared statement {Quote(statementName)} does not exist"));
            return;
        }
        int needed = statement.ParameterTypes.Count;
        if (values.Length != needed)
        {
            ErrorInExtended(new PgError("08P01",
                $"bind message supplies {Format(values.Length)} parameters, but prepared statement {Quote(statementName)} requires {Format(needed)}"));
            return;
        }
        if (parameterFormats.Length > 1 && parameterFormats.Length != values.Length)
        {
            ErrorInExtended(new PgError("08P01",
                $"bind message has {Format(parameterFormats.Length)} parameter formats but {Format(values.Length)} parameters"));
            return;
        }
        var parameters = new Datum[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i].IsNull)
            {
                continue; // Datum.Null
            }
            short format = parameterFormats.Length == 0 ? PgValueCodec.TextFormat : parameterFormats[parameterFormats.Length == 1 ? 0 : i];
            if (!PgValueCodec.TryDecode(values[i].Bytes, statement.ParameterTypes[i], format, out parameters[i], out PgError? error))
            {
                string which = $"bind parameter ${Format(i + 1)} ({statement.ParameterTypes[i].Name}, {(format == PgValueCodec.BinaryFormat ? "binary" : "text")} format)";
                ErrorInExtended(error! with { Detail = error.Detail ?? which });
                return;
            }
        }
        int columnCount = statement.Columns?.Count ?? 0;
        if (resultFormats.Length > 1 && resultFormats.Length != columnCount)
        {
            ErrorInExtended(new PgError("08P01",
                $"bind message has {Format(resultFormats.Length)} result formats but query has {Format(columnCount)} columns"));
            return;
        }
        var formats = new short[columnCount];
        for (int i = 0; i < columnCount; i++)
        {
            formats[i] = resultFormats.Length == 0 ? PgValueCodec.TextFormat : resultFormats[resultFormats.Length == 1 ? 0 : i];
            if (formats[i] is not (PgValueCodec.TextFormat or PgValueCodec.BinaryFormat))
            {
                ErrorInExtended(new PgError("22023", $"unsupported format code: {Format(formats[i])}"));
                return;
            }
        }
        if (portalName.Length > 0 && _portals.ContainsKey(portalName))
        {
            ErrorInExtended(new PgError("42P03", $"portal {Quote(portalName)} already exists"));
            return;
        }
        _portals[portalName] = new Portal(statement, parameters, formats);
        _writer.Empty((byte)'2');
    }

    private static short[] ReadFormats(ref PgBodyReader body)
    {
        short count = body.ReadInt16();
        if (count < 0)
        {
            body.Fail("invalid format code count");
            return [];
        }
        var formats = new short[count];
        for (int i = 0; i < count && !body.Failed; i++)
        {
            formats[i] = body.ReadInt16();
            if (formats[i] is not (PgValueCodec.TextFormat or PgValueCodec.BinaryFormat))
            {
                body.Fail($"unsupported format code: {Format(formats[i])}");
            }
        }
        return formats;
    }

    private void Describe(PgBodyReader body)
    {
        byte kind = body.ReadByte();
        string name = body.ReadCString();
        body.ExpectEnd();
        if (body.Failed)
        {
            ErrorInExtended(new PgError("08P01", body.Failure!));
            return;
        }
        if (kind == (byte)'S')
        {
            if (!_statements.TryGetValue(name, out PgPrepared? statement))
            {
                ErrorInExtended(new PgError("26000", $"prepared statement {Quote(name)} does not exist"));
                return;
            }
            _writer.ParameterDescription(statement.ParameterTypes);
            DescribeRows(statement.Columns, null);
            return;
        }
        if (kind == (byte)'P')
        {
            if (!_portals.TryGetValue(name, out Portal? portal))
            {
                ErrorInExtended(new PgError("34000", $"portal {Quote(name)} does not exist"));
                return;
            }
            DescribeRows(portal.Statement.Columns, portal.ResultFormats);
            return;
        }
        ErrorInExtended(new PgError("08P01", $"invalid DESCRIBE message subtype {Format(kind)}"));
    }

    private void DescribeRows(IReadOnlyList<PgColumn>? columns, short[]? formats)
    {
        if (columns is null)
        {
            _writer.Empty((byte)'n'); // NoData
            return;
        }
        _writer.RowDescription(columns, formats);
    }

    private void Close(PgBodyReader body)
    {
        byte kind = body.ReadByte();
        string name = body.ReadCString();
        body.ExpectEnd();
        if (body.Failed)
        {
            ErrorInExtended(new PgError("08P01", body.Failure!));
            return;
        }
        if (kind == (byte)'S')
        {
            _statements.Remove(name); // closing what does not exist is not an error
        }
        else if (kind == (byte)'P')
        {
            _portals.Remove(name);
        }
        else
        {
            ErrorInExtended(new PgError("08P01", $"invalid CLOSE message subtype {Format(kind)}"));
            return;
        }
        _writer.Empty((byte)'3');
    }

    private async Task ExecuteAsync(IPgSession session, PgBodyReader body)
    {
        string name = body.ReadCString();
        int rowsMax = body.ReadInt32();
        body.ExpectEnd();
        if (body.Failed)
        {
            ErrorInExtended(new PgError("08P01", body.Failure!));
            return;
        }
        if (!_portals.TryGetValue(name, out Portal? portal))
        {
            ErrorInExtended(new PgError("34000", $"portal {Quote(name)} does not exist"));
            return;
        }
        if (portal.PendingRows is not null)
        {
            ServeBuffered(portal, rowsMax);
            return;
        }
        if (portal.Completed)
        {
            // Run to the end already: nothing more to fetch.
            _writer.CommandComplete(WithCount(portal.Tag ?? "SELECT 0", 0));
            return;
        }
        IReadOnlyList<PgColumn> columns = portal.Statement.Columns ?? [];
        if (rowsMax <= 0)
        {
            _sink.BeginExtended(columns, portal.ResultFormats, buffer: null);
            await RunCallAsync(token => session.ExecuteAsync(portal.Statement, portal.Parameters, _sink, token));
            portal.Completed = true;
            portal.Tag = _sink.Tag;
            return;
        }
        var buffer = new Queue<byte[]>();
        _sink.BeginExtended(columns, portal.ResultFormats, buffer);
        await RunCallAsync(token => session.ExecuteAsync(portal.Statement, portal.Parameters, _sink, token));
        portal.PendingRows = buffer;
        portal.Tag = _sink.Tag;
        portal.Error = _sink.BufferedError;
        if (portal.Tag is null && portal.Error is null && _sink.SawEmptyQuery)
        {
            portal.PendingRows = null;
            portal.Completed = true;
            _writer.Empty((byte)'I');
            return;
        }
        ServeBuffered(portal, rowsMax);
    }

    // Sends up to rowsMax held-back rows; then PortalSuspended if rows remain, else how the run ended.
    private void ServeBuffered(Portal portal, int rowsMax)
    {
        Queue<byte[]> rows = portal.PendingRows!;
        int sent = 0;
        while (rows.Count > 0 && (rowsMax <= 0 || sent < rowsMax))
        {
            _writer.WriteBytes(rows.Dequeue());
            sent++;
            if (_writer.BufferedBytes > Options.SendBufferBytesMax)
            {
                _writer.Flush(_connection);
            }
        }
        if (rows.Count > 0)
        {
            _writer.Empty((byte)'s'); // PortalSuspended
            return;
        }
        portal.PendingRows = null;
        portal.Completed = true;
        if (portal.Error is not null)
        {
            ErrorInExtended(portal.Error);
            return;
        }
        _writer.CommandComplete(WithCount(portal.Tag ?? "SELECT " + Format(sent), sent));
    }

    /// <summary>A SELECT tag counts the rows of this Execute, as PostgreSQL reports a portal fetched in parts.</summary>
    private static string WithCount(string tag, int rows) =>
        tag.StartsWith("SELECT ", StringComparison.Ordinal) ? "SELECT " + Format(rows) : tag;
}
