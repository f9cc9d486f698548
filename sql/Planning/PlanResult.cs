using System;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Kernel.Expr;

namespace Kernel.Sql.Planning;

/// <summary>
/// The outcome of <see cref="Planner.Plan"/>: a plan, or an error; the types of <c>$1..$n</c> as the planner
/// resolved them; and notices for the client (<c>table "x" does not exist, skipping</c>).
/// </summary>
/// <remarks>
/// <see cref="ParameterTypes"/>: one type per parameter, the caller's known types with unknown ones inferred from
/// context (<c>k = $1</c> with <c>k</c> integer gives integer) or <c>text</c> where nothing decides. Empty on error.
/// </remarks>
public sealed record PlanResult(Plan? Plan, ImmutableArray<SqlType> ParameterTypes, PlanError? Error, ImmutableArray<string> Notices)
{
    [MemberNotNullWhen(true, nameof(Plan))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null && Plan is not null;

    internal static PlanResult Success(Plan plan, ImmutableArray<SqlType> parameterTypes, ImmutableArray<string> notices) =>
        new(plan, parameterTypes, null, notices);

    internal static PlanResult Failure(PlanError error) =>
        new(null, ImmutableArray<SqlType>.Empty, error, ImmutableArray<string>.Empty);

    public override string ToString() => Error?.ToString() ?? Plan!.ToString();
}

/// <summary>A planning error as PostgreSQL reports it.</summary>
/// <remarks>
/// <see cref="SqlState"/>: 42P01 undefined_table, 42703 undefined_column, 42883 undefined_function and so on.
/// <see cref="Position"/>: where in the statement's text the offending node starts, 1-based as PostgreSQL's
/// ErrorResponse reports it, counted in UTF-16 units from the start of the parsed string; null when unknown.
/// </remarks>
public sealed record PlanError(string SqlState, string Message, int? Position = null, string? Hint = null)
{
    public override string ToString() =>
        $"{Message} (SQLSTATE {SqlState})" + (Position is int p ? $" at {p}" : string.Empty) + (Hint is null ? string.Empty : $" HINT: {Hint}");
}

/// <summary>Unwinds planning on the first user error; caught only by the public entry points.</summary>
internal sealed class PlanException : Exception
{
    public PlanException(PlanError error)
        : base(error.Message) => Error = error;

    public PlanException()
        : this(new PlanError("XX000", "internal planning error"))
    {
    }

    public PlanException(string message)
        : this(new PlanError("XX000", message))
    {
    }

    public PlanException(string message, Exception innerException)
        : base(message, innerException) => Error = new PlanError("XX000", message);

    public PlanError Error { get; }
}

/// <summary>
/// The value of parameter <c>$n</c> (<see cref="Index"/> is n - 1) in a bound plan. It never reaches compute:
/// <see cref="Planner.BindParameters"/> replaces every one with a <see cref="Literal"/>.
/// </summary>
public sealed record ParameterRef(int Index, ColumnType ColumnType) : ScalarExpr
{
    public override ColumnType Type => ColumnType;
}
