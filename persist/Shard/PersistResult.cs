using System;
using Kernel.Persist.Data;
using Kernel.Persist.Location;

namespace Kernel.Persist.Shard;

public enum PersistErrorKind
{
    /// <summary>Blob or Consensus kept failing through every retry; the operation may be retried later.</summary>
    Unavailable,

    /// <summary>A state, rollup or part failed to decode; the message names its key. Never retried into data.</summary>
    Corrupt,

    /// <summary>The requested time is at or beyond the shard's upper: wait for the upper to pass it.</summary>
    AsOfNotYetAvailable,

    /// <summary>The requested time is before the shard's since: its distinctions have been compacted away.</summary>
    AsOfCompactedAway,

    /// <summary>The shard was dropped.</summary>
    ShardDropped,

    /// <summary>This handle's reader or writer is no longer registered (its lease lapsed, or it was expired).</summary>
    HandleExpired,

    /// <summary>A blob that a live state references is missing: a broken invariant, reported rather than read as empty.</summary>
    BlobMissing,

    /// <summary>A wait (for an upper, for a listen) ran out of time or was cancelled.</summary>
    TimedOut,
}

/// <summary>Why a persist operation did not give its value. <see cref="Upper"/> and <see cref="Since"/> are set where they help.</summary>
public sealed record PersistError(PersistErrorKind Kind, string Message)
{
    public Frontier? Upper { get; init; }

    public Frontier? Since { get; init; }

    public static PersistError From(LocationError error, string what) =>
        new(PersistErrorKind.Unavailable, $"{what}: {error.Message} ({error.Kind})");

    public override string ToString() => $"{Kind}: {Message}";
}

/// <summary>The outcome of a persist operation: a value or a <see cref="PersistError"/>.</summary>
public readonly struct PersistResult<T>
{
    private PersistResult(T? value, PersistError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public PersistError? Error { get; }

    public bool IsOk => Error is null;

    public static PersistResult<T> Ok(T value) => new(value, null);

    public static PersistResult<T> Fail(PersistError error) => new(default, error ?? throw new ArgumentNullException(nameof(error)));

    public static implicit operator PersistResult<T>(PersistError error) => Fail(error);

    public static implicit operator PersistResult<T>(T value) => Ok(value);

    /// <summary>The value; a bug to call on a failure.</summary>
    public T Unwrap() => IsOk ? Value! : throw new InvalidOperationException("persist operation failed: " + Error);

    public override string ToString() => IsOk ? $"ok {Value}" : Error!.ToString();
}
