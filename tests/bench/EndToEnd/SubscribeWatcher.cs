using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using Npgsql;

namespace Kernel.Tests.Bench.EndToEnd;

/// <summary>
/// A client that runs <c>COPY (SUBSCRIBE mv) TO STDOUT</c> on its own connection and thread, and records for each
/// group <c>k</c> the sum of the last inserted row <c>(mz_timestamp, mz_diff, k, c, s)</c> and the moment (a
/// <see cref="Stopwatch"/> timestamp) its line arrived. The benchmark waits on it for a group to show a given sum.
/// </summary>
/// <remarks>All state is guarded by <see cref="_gate"/>; the reader thread pulses it on every line.</remarks>
public sealed class SubscribeWatcher : IDisposable
{
    // Used by the reader thread only, after Start.
    private readonly NpgsqlConnection _connection;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private readonly Dictionary<long, (long Sum, long ArrivedTicks)> _latest = [];
    private long _lines;
    private string? _failure;
    private bool _stopping;

    private SubscribeWatcher(NpgsqlConnection connection, string query)
    {
        _connection = connection;
        _thread = new Thread(() => Read(query)) { IsBackground = true, Name = "subscribe watcher" };
    }

    /// <summary>Opens a connection and starts reading <paramref name="query"/> (a <c>COPY (SUBSCRIBE ...) TO STDOUT</c>).</summary>
    public static SubscribeWatcher Start(string connectionString, string query)
    {
        var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        var watcher = new SubscribeWatcher(connection, query);
        watcher._thread.Start();
        return watcher;
    }

    /// <summary>Lines received so far (snapshot and changes, inserts and retractions).</summary>
    public long Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines;
            }
        }
    }

    /// <summary>Waits until <paramref name="groups"/> distinct groups have arrived (the snapshot); false on timeout or failure.</summary>
    public bool WaitForGroups(int groups, TimeSpan timeout)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            // Bounded by the deadline.
            while (_latest.Count < groups && _failure is null)
            {
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    return false;
                }
                Monitor.Wait(_gate, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
            }
            return _latest.Count >= groups;
        }
    }

    /// <summary>
    /// The Stopwatch timestamp at which a row with group <paramref name="group"/> and sum <paramref name="sum"/> arrived,
    /// or null if none arrives within <paramref name="timeout"/>.
    /// </summary>
    public long? WaitForSum(long group, long sum, TimeSpan timeout)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            // Bounded by the deadline.
            while (true)
            {
                if (_latest.TryGetValue(group, out (long Sum, long ArrivedTicks) latest) && latest.Sum == sum)
                {
                    return latest.ArrivedTicks;
                }
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0 || _failure is not null)
                {
                    return null;
                }
                Monitor.Wait(_gate, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
            }
        }
    }

    /// <summary>Why the reader stopped early, or null.</summary>
    public string? Failure
    {
        get
        {
            lock (_gate)
            {
                return _failure;
            }
        }
    }

    /// <remarks>
    /// Does not close the connection: Npgsql's close of a connection in COPY OUT waits for the copy to end, and a
    /// subscribe never ends. The reader thread (a background thread) ends when the kernel closes the socket.
    /// </remarks>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Read(string query)
    {
        try
        {
            using TextReader reader = _connection.BeginTextExport(query);
            // Bounded by the subscribe: it ends when the connection closes.
            while (reader.ReadLine() is string line)
            {
                long arrived = Stopwatch.GetTimestamp();
                Absorb(line, arrived);
            }
            lock (_gate)
            {
                _failure ??= _stopping ? null : "the subscribe ended";
                Monitor.PulseAll(_gate);
            }
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                if (!_stopping)
                {
                    _failure = $"{e.GetType().Name}: {e.Message}";
                }
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void Absorb(string line, long arrivedTicks)
    {
        // mz_timestamp, mz_diff, k, c, s
        string[] fields = line.Split('\t');
        lock (_gate)
        {
            _lines++;
            if (fields.Length == 5
                && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long diff)
                && long.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long group)
                && decimal.TryParse(fields[4], NumberStyles.Number, CultureInfo.InvariantCulture, out decimal sum))
            {
                if (diff > 0)
                {
                    _latest[group] = ((long)sum, arrivedTicks);
                }
            }
            else
            {
                _failure ??= $"unexpected subscribe line: {line}";
            }
            Monitor.PulseAll(_gate);
        }
    }
}
