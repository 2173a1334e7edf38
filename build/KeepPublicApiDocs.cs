// Compiled by MSBuild's RoslynCodeTaskFactory (see PublicApiDocs.targets); not part of any project.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Xml.Linq;
#nullable enable
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>Removes from an XML documentation file every member another assembly cannot see.</summary>
public sealed class KeepPublicApiDocs : Microsoft.Build.Utilities.Task
{
    [Required] public string AssemblyPath { get; set; } = "";
    [Required] public string DocumentationPath { get; set; } = "";
    [Required] public ITaskItem[] References { get; set; } = new ITaskItem[0];

    public override bool Execute()
    {
        var paths = References.Select(r => r.GetMetadata("FullPath")).Append(AssemblyPath)
            .GroupBy(p => Path.GetFileName(p), StringComparer.OrdinalIgnoreCase).Select(g => g.First());
        // MetadataLoadContext ships with MSBuild but the task compiles against netstandard only, so it is reached by reflection.
        var loader = Assembly.Load("System.Reflection.MetadataLoadContext");
        object resolver = Activator.CreateInstance(loader.GetType("System.Reflection.PathAssemblyResolver", true), new object[] { paths.ToArray() });
        var contextType = loader.GetType("System.Reflection.MetadataLoadContext", true);
        var context = (IDisposable)Activator.CreateInstance(contextType, new object?[] { resolver, null });
        var visible = new HashSet<string>(StringComparer.Ordinal);
        try
        {
        var assembly = (Assembly)contextType.GetMethod("LoadFromAssemblyPath").Invoke(context, new object[] { AssemblyPath });
        foreach (var type in assembly.GetTypes().Where(t => t.IsVisible))
        {
            visible.Add("T:" + TypeName(type));
            const BindingFlags all = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic |
                                     BindingFlags.Instance | BindingFlags.Static;
            foreach (var member in type.GetMembers(all))
                if (IsVisible(member) && Id(member) is { } id) visible.Add(id);
        }
        }
        finally
        {
            context.Dispose();
        }

        var document = XDocument.Load(DocumentationPath, LoadOptions.PreserveWhitespace);
        var members = document.Root?.Element("members");
        if (members is null) return true;
        var hidden = members.Elements("member").Where(m => !visible.Contains((string?)m.Attribute("name") ?? "")).ToList();
        foreach (var member in hidden)
        {
            if (member.PreviousNode is XText indent) indent.Remove();
            member.Remove();
        }
        document.Save(DocumentationPath);
        Log.LogMessage(MessageImportance.Low, $"{DocumentationPath}: kept {visible.Count} public entries, removed {hidden.Count} internal ones.");
        return true;
    }

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase m => !m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal) || m is ConstructorInfo
            ? Visible(m) : false,
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(true).Any(Visible),
        EventInfo e => e.AddMethod is { } add && Visible(add),
        _ => false, // nested types are listed by GetTypes
    };

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    /// <summary>The documentation ID of a member (ECMA-334 annex D), as the C# compiler writes it.</summary>
    private static string? Id(MemberInfo member)
    {
        string owner = TypeName(member.DeclaringType!);
        switch (member)
        {
            case ConstructorInfo c:
                return $"M:{owner}.{(c.IsStatic ? "#cctor" : "#ctor")}{Parameters(c.GetParameters())}";
            case MethodInfo m:
                string arity = m.IsGenericMethodDefinition ? "``" + m.GetGenericArguments().Length : "";
                string conversion = m.Name is "op_Implicit" or "op_Explicit" ? "~" + Signature(m.ReturnType) : "";
                return $"M:{owner}.{m.Name.Replace('.', '#')}{arity}{Parameters(m.GetParameters())}{conversion}";
            case PropertyInfo p:
                return $"P:{owner}.{p.Name.Replace('.', '#')}{Parameters(p.GetIndexParameters())}";
            case FieldInfo f:
                return $"F:{owner}.{f.Name}";
            case EventInfo e:
                return $"E:{owner}.{e.Name}";
            default:
                return null;
        }
    }

    private static string Parameters(ParameterInfo[] parameters) =>
        parameters.Length == 0 ? "" : "(" + string.Join(",", parameters.Select(p => Signature(p.ParameterType))) + ")";

    private static string TypeName(Type type) =>
        type.IsNested ? TypeName(type.DeclaringType!) + "." + type.Name
            : string.IsNullOrEmpty(type.Namespace) ? type.Name : type.Namespace + "." + type.Name;

    private static string Signature(Type type)
    {
        if (type.IsByRef) return Signature(type.GetElementType()!) + "@";
        if (type.IsPointer) return Signature(type.GetElementType()!) + "*";
        if (type.IsArray)
            return Signature(type.GetElementType()!) + (type.Name.EndsWith("[]", StringComparison.Ordinal) ? "[]"
                : "[" + string.Join(",", Enumerable.Repeat("0:", type.GetArrayRank())) + "]");
        if (type.IsGenericParameter)
            return (type.DeclaringMethod is null ? "`" : "``") + type.GenericParameterPosition;
        if (type.IsConstructedGenericType)
        {
            var definition = type.GetGenericTypeDefinition();
            string name = TypeName(definition);
            int tick = name.LastIndexOf('`');
            return (tick < 0 ? name : name.Substring(0, tick)) + "{" + string.Join(",", type.GetGenericArguments().Select(Signature)) + "}";
        }
        return TypeName(type);
    }
}
