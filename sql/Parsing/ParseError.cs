using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

/// <summary>
/// Why a statement could not be parsed, in the shape of a PostgreSQL ErrorResponse: SQLSTATE, message,
/// position and hint.
/// </summary>
/// <param name="SqlState">The SQLSTATE code, e.g. <see cref="Sql.SqlState.SyntaxError"/>.</param>
/// <param name="Message">The primary message, worded as PostgreSQL words it.</param>
/// <param name="Offset">The 0-based UTF-16 offset of the error in the SQL text, or -1 when it has none.</param>
/// <param name="Position">
/// The position PostgreSQL reports (the ErrorResponse 'P' field): 1-based, in characters; 0 when there is none.
/// </param>
/// <param name="Hint">An optional hint on what to do instead.</param>
public sealed record ParseError(string SqlState, string Message, int Offset, int Position, string? Hint = null)
{
    /// <summary>An error at <paramref name="offset"/> in <paramref name="sql"/>, or without a position when it is negative.</summary>
    public static ParseError At(string sql, string sqlState, string message, int offset, string? hint = null) =>
        new(
            sqlState,
            message,
            offset < 0 ? -1 : offset,
            offset < 0 ? 0 : SourceLocation.CharacterPosition(sql, offset),
            hint);

    public override string ToString() =>
        Position > 0 ? $"{SqlState}: {Message} (position {Position})" : $"{SqlState}: {Message}";
}
