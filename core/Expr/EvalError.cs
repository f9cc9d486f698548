using System;

namespace Kernel.Expr;

/// <summary>
/// A runtime fault while evaluating an expression, with the PostgreSQL SQLSTATE a client receives: division by
/// zero (22012), numeric out of range (22003), invalid text representation (22P02), invalid datetime format
/// (22007), string data right truncation (22001) and so on. Errors are data: they flow to the query that reads
/// them and never stop a replica.
/// </summary>
public sealed record EvalError(string SqlState, string Message) : IComparable<EvalError>
{
    public static EvalError DivisionByZero { get; } = new("22012", "division by zero");

    public static EvalError OutOfRange(string typeName) => new("22003", $"{typeName} out of range");

    public int CompareTo(EvalError? other)
    {
        if (other is null)
        {
            return 1;
        }
        int byCode = string.CompareOrdinal(SqlState, other.SqlState);
        return byCode != 0 ? byCode : string.CompareOrdinal(Message, other.Message);
    }

    public override string ToString() => $"{Message} (SQLSTATE {SqlState})";

    public static bool operator <(EvalError? left, EvalError? right) => Compare(left, right) < 0;

    public static bool operator <=(EvalError? left, EvalError? right) => Compare(left, right) <= 0;

    public static bool operator >(EvalError? left, EvalError? right) => Compare(left, right) > 0;

    public static bool operator >=(EvalError? left, EvalError? right) => Compare(left, right) >= 0;

    private static int Compare(EvalError? left, EvalError? right) => left is null ? (right is null ? 0 : -1) : left.CompareTo(right);
}
