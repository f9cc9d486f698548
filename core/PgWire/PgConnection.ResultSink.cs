using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Persist.Data;

namespace Kernel.PgWire;

internal sealed partial class PgConnection
{
    /// <summary>
    /// The sink a session writes one call's results to: encodes them as backend messages into the connection's
    /// writer, or, for an Execute with a row limit, holds the DataRow messages back for the portal.
    /// </summary>
    /// <remarks>Valid only between Begin and End, i.e. during one session call; use outside that is a bug and throws.</remarks>
    private sealed class ResultSink(PgConnection owner) : IPgResultSink
    {
        private readonly PgBackendWriter _rowWriter = new(); // encodes held-back rows
        private bool _active;
        private bool _extended;
        private IReadOnlyList<PgColumn>? _columns;
        private short[]? _formats;
        private Queue<byte[]>? _buffer;
        private bool _inCopy;

        /// <summary>The last CommandComplete tag of the call.</summary>
        public string? Tag { get; private set; }

        /// <summary>The error of a call whose rows are held back (it is sent after them).</summary>
        public PgError? BufferedError { get; private set; }

        public bool SawEmptyQuery { get; private set; }

        public void BeginSimple() => Begin(extended: false, null, null, null);

        public void BeginExtended(IReadOnlyList<PgColumn> columns, short[] formats, Queue<byte[]>? buffer) =>
            Begin(extended: true, columns, formats, buffer);

        public void End()
        {
            _active = false;
            if (_inCopy)
            {
                // A session that stopped mid-COPY (canceled, say): end the stream so the client leaves copy mode.
                owner.Writer.Empty((byte)'c');
                _inCopy = false;
            }
        }

        public void RowDescription(IReadOnlyList<PgColumn> columns)
        {
            CheckActive();
            if (_extended)
            {
                return; // Describe sent it
            }
            _columns = columns;
            _formats = null;
            owner.Writer.RowDescription(columns, null);
        }

        public void Row(ReadOnlySpan<Datum> values)
        {
            CheckActive();
            IReadOnlyList<PgColumn> columns = _columns ?? throw new InvalidOperationException("a row before its RowDescription");
            if (values.Length != columns.Count)
            {
                throw new InvalidOperationException($"a row of {values.Length} values for {columns.Count} columns");
            }
            PgBackendWriter writer = _buffer is null ? owner.Writer : _rowWriter;
            writer.Begin((byte)'D');
            writer.WriteInt16(checked((short)values.Length));
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i].IsNull)
                {
                    writer.WriteInt32(-1);
                    continue;
                }
                int lengthAt = writer.ReserveInt32();
                PgValueCodec.Encode(values[i], columns[i].Type, _formats is null ? PgValueCodec.TextFormat : _formats[i], writer);
                writer.PatchInt32(lengthAt, writer.Position - lengthAt - 4);
            }
            writer.End();
            if (_buffer is not null)
            {
                _buffer.Enqueue(_rowWriter.Buffered.ToArray());
                _rowWriter.Clear();
            }
            else if (owner.Writer.BufferedBytes > owner.Options.SendBufferBytesMax)
            {
                owner.FlushFromSink();
            }
        }

        public void CommandComplete(string tag)
        {
            CheckActive();
            Tag = tag;
            if (_buffer is null || _inCopy)
            {
                owner.Writer.CommandComplete(tag);
            }
            if (!_extended)
            {
                _columns = null;
            }
        }

        public void EmptyQuery()
        {
            CheckActive();
            SawEmptyQuery = true;
            if (_buffer is null)
            {
                owner.Writer.Empty((byte)'I');
            }
        }

        public void Error(PgError error)
        {
            CheckActive();
            ErrorFromServer(error);
        }

        /// <summary>An error the server itself reports for the call (cancellation); valid also as the call ends.</summary>
        public void ErrorFromServer(PgError error)
        {
            if (_inCopy)
            {
                _inCopy = false; // an ErrorResponse ends COPY OUT as well
            }
            if (_buffer is not null)
            {
                BufferedError ??= error;
                return;
            }
            if (_extended)
            {
                owner.ErrorInExtended(error);
                return;
            }
            owner.Writer.ErrorOrNotice(error, isNotice: false);
        }

        public void Notice(PgError notice)
        {
            CheckActive();
            owner.Writer.ErrorOrNotice(notice, isNotice: true);
        }

        public void CopyOutBegin(int columnCount)
        {
            CheckActive();
            if (_inCopy)
            {
                throw new InvalidOperationException("CopyOutBegin inside a COPY");
            }
            _inCopy = true;
            owner.Writer.CopyOutResponse(columnCount);
        }

        public void CopyData(ReadOnlySpan<byte> data)
        {
            CheckActive();
            if (!_inCopy)
            {
                throw new InvalidOperationException("CopyData outside a COPY");
            }
            owner.Writer.CopyData(data);
            if (owner.Writer.BufferedBytes > owner.Options.SendBufferBytesMax)
            {
                owner.FlushFromSink();
            }
        }

        public void CopyDone()
        {
            CheckActive();
            if (!_inCopy)
            {
                throw new InvalidOperationException("CopyDone outside a COPY");
            }
            _inCopy = false;
            owner.Writer.Empty((byte)'c');
        }

        public ValueTask FlushAsync()
        {
            CheckActive();
            owner.FlushFromSink();
            return ValueTask.CompletedTask;
        }

        private void Begin(bool extended, IReadOnlyList<PgColumn>? columns, short[]? formats, Queue<byte[]>? buffer)
        {
            _active = true;
            _extended = extended;
            _columns = columns;
            _formats = formats;
            _buffer = buffer;
            _inCopy = false;
            Tag = null;
            BufferedError = null;
            SawEmptyQuery = false;
        }

        private void CheckActive()
        {
            if (!_active)
            {
                throw new InvalidOperationException("the result sink was used outside its session call");
            }
        }
    }
}
