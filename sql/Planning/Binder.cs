using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Planning;

/// <summary>
/// Binds one statement: resolves names against the catalog, types every expression with PostgreSQL's rules and
/// lowers queries to <see cref="RelationExpr"/>. One instance per statement; not reusable.
/// </summary>
/// <remarks>
/// User errors unwind as <see cref="PlanException"/> and become a <see cref="PlanResult"/> error in
/// <see cref="Planner.Plan"/>; a broken invariant is an <see cref="System.InvalidOperationException"/>, a bug.
/// Parameter types are inferred in place: the first context that decides the type of an unknown <c>$n</c> fixes it.
/// </remarks>
internal sealed partial class Binder
{
    /// <summary>How many parameters a statement may use (PostgreSQL's wire protocol limit).</summary>
    private const int ParametersMax = 65535;

    private readonly ICatalogReader _catalog;
    private readonly List<SqlType> _parameterTypes;
    private readonly List<string> _notices = [];

    // Common table expressions in scope, innermost last; each maps a name to its lowered query.
    private readonly List<Dictionary<string, CteBinding>> _ctes = [];

    public Binder(ICatalogReader catalog, IReadOnlyList<SqlType> parameterTypes)
    {
        _catalog = catalog;
        _parameterTypes = [.. parameterTypes];
    }

    public IReadOnlyList<string> Notices => _notices;

    /// <summary>The parameter types, unknown ones resolved to text (PostgreSQL's choice when nothing decides).</summary>
    public ImmutableArray<SqlType> ParameterTypes
    {
        get
        {
            var types = ImmutableArray.CreateBuilder<SqlType>(_parameterTypes.Count);
            foreach (SqlType type in _parameterTypes)
            {
                types.Add(type.Kind == SqlTypeKind.Unknown ? SqlType.Text : type);
            }
            return types.MoveToImmutable();
        }
    }

    public void Notice(string message) => _notices.Add(message);

    /// <summary>A user error at <paramref name="node"/> (its position when the parser recorded one).</summary>
    public static PlanException Error(string sqlState, string message, SyntaxNode? node = null, string? hint = null) =>
        new(new PlanError(sqlState, message, node is { Location.IsKnown: true } ? node.Location.Offset + 1 : null, hint));

    public static PlanException NotSupported(string what, SyntaxNode? node = null) =>
        Error(SqlState.FeatureNotSupported, $"{what} not supported yet", node);

    private sealed record CteBinding(RelationExpr Expr, ImmutableArray<string> Names);
}
