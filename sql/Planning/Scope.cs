using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Planning;

/// <summary>One column visible to expressions: the relation it came from (its alias), its name and type.</summary>
/// <remarks>
/// Table: the qualifier that names it (<c>t</c> in <c>t.a</c>), null for columns of an unnamed relation.
/// HiddenFromUnqualified: the right-hand copy of a USING column: only <c>t.a</c> reaches it, and <c>*</c> skips it.
/// </remarks>
internal sealed record ScopeColumn(string? Table, string? Name, ColumnType Type, bool HiddenFromUnqualified = false);

/// <summary>
/// The columns of the relation an expression is evaluated over, in column order: column <c>i</c> of the scope is
/// column <c>i</c> of the relation.
/// </summary>
internal sealed class Scope
{
    public Scope(ImmutableArray<ScopeColumn> columns) => Columns = columns;

    public static Scope Empty { get; } = new(ImmutableArray<ScopeColumn>.Empty);

    public ImmutableArray<ScopeColumn> Columns { get; }

    public int Arity => Columns.Length;

    public Scope Concat(Scope other) => new(Columns.AddRange(other.Columns));

    /// <summary>Columns named <paramref name="names"/>, qualified by <paramref name="table"/>.</summary>
    public static Scope Of(string? table, ImmutableArray<string> names, RelationType type)
    {
        var columns = ImmutableArray.CreateBuilder<ScopeColumn>(names.Length);
        for (int i = 0; i < names.Length; i++)
        {
            columns.Add(new ScopeColumn(table, names[i], type.Columns[i]));
        }
        return new Scope(columns.MoveToImmutable());
    }

    public bool HasTable(string table)
    {
        foreach (ScopeColumn column in Columns)
        {
            if (column.Table == table)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Resolves a column reference to a column index, or throws the PostgreSQL error.</summary>
    public int Resolve(Syntax.ColumnRef reference)
    {
        NodeList<string> parts = reference.Parts;
        string name = parts[^1];
        string? table = parts.Count >= 2 ? parts[^2] : null;
        int found = -1;
        for (int i = 0; i < Columns.Length; i++)
        {
            ScopeColumn column = Columns[i];
            bool matches = column.Name == name && (table is null ? !column.HiddenFromUnqualified : column.Table == table);
            if (!matches)
            {
                continue;
            }
            if (found >= 0)
            {
                throw Binder.Error("42702", $"column reference \"{Join(parts)}\" is ambiguous", reference);
            }
            found = i;
        }
        if (found >= 0)
        {
            return found;
        }
        if (table is not null && !HasTable(table))
        {
            throw Binder.Error("42P01", $"missing FROM-clause entry for table \"{table}\"", reference);
        }
        throw Binder.Error("42703", $"column \"{Join(parts)}\" does not exist", reference);
    }

    /// <summary>Like <see cref="Resolve"/> but null instead of "does not exist" (ambiguity still throws).</summary>
    public int? TryResolve(Syntax.ColumnRef reference)
    {
        try
        {
            return Resolve(reference);
        }
        catch (PlanException e) when (e.Error.SqlState is "42703" or "42P01")
        {
            return null;
        }
    }

    /// <summary><c>t.a</c> (or <c>a</c>) for error messages about column <paramref name="index"/>.</summary>
    public string QualifiedName(int index)
    {
        ScopeColumn column = Columns[index];
        return column.Table is null ? column.Name ?? "?column?" : $"{column.Table}.{column.Name}";
    }

    private static string Join(NodeList<string> parts) => string.Join('.', (IEnumerable<string>)parts);
}
