using System;

namespace Kernel.Persist.Location;

/// <summary>How sure the caller can be about a failed Blob or Consensus operation.</summary>
public enum ErrorKind
{
    /// <summary>The operation definitely did not take effect; retrying it is always safe.</summary>
    Determinate,

    /// <summary>
    /// The operation may or may not have taken effect (a timeout, a lost connection, an I/O error on a write
    /// path). A retry must be made safe by a seqno compare-and-set or an idempotency token.
    /// </summary>
    Indeterminate,
}

/// <summary>A failed Blob or Consensus operation: its kind and a message that names what failed.</summary>
public sealed record LocationError(ErrorKind Kind, string Message)
{
    public bool IsIndeterminate => Kind == ErrorKind.Indeterminate;

    public static LocationError Determinate(string message) => new(ErrorKind.Determinate, message);

    public static LocationError Indeterminate(string message) => new(ErrorKind.Indeterminate, message);

    public override string ToString() => $"{Kind}: {Message}";
}

/// <summary>The outcome of a location operation without a value.</summary>
public readonly struct LocationResult
{
    private LocationResult(LocationError? error) => Error = error;

    public LocationError? Error { get; }

    public bool IsOk => Error is null;

    public static LocationResult Ok => default;

    public static LocationResult Fail(LocationError error) => new(error ?? throw new ArgumentNullException(nameof(error)));

    public static implicit operator LocationResult(LocationError error) => Fail(error);

    public override string ToString() => Error?.ToString() ?? "ok";
}

/// <summary>The outcome of a location operation that produces a value.</summary>
public readonly struct LocationResult<T>
{
    private LocationResult(T? value, LocationError? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The value of a successful result (which may itself be null, e.g. a missing blob).</summary>
    public T? Value { get; }

    public LocationError? Error { get; }

    public bool IsOk => Error is null;

    public static LocationResult<T> Ok(T value) => new(value, null);

    public static LocationResult<T> Fail(LocationError error) => new(default, error ?? throw new ArgumentNullException(nameof(error)));

    public static implicit operator LocationResult<T>(LocationError error) => Fail(error);

    /// <summary>Wraps a value (not available when <typeparamref name="T"/> is an interface: use <see cref="Ok"/>).</summary>
    public static implicit operator LocationResult<T>(T value) => Ok(value);

    /// <summary>The value; a bug to call on a failure.</summary>
    public T Unwrap() => IsOk ? Value! : throw new InvalidOperationException("location operation failed: " + Error);

    public override string ToString() => IsOk ? $"ok {Value}" : Error!.ToString();
}
