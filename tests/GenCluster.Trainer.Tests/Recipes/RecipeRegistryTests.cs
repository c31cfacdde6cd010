using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes;

namespace GenCluster.Trainer.Tests.Recipes;

public class RecipeRegistryTests
{
    [Fact]
    public void EveryCatalogueKindHasARecipe() => Assert.Equal(ModelCatalog.Kinds, RecipeRegistry.Kinds);

    [Theory]
    [InlineData("gan", new[] { "generator", "discriminator", "generator_ema" })]
    [InlineData("wgan-gp", new[] { "generator", "discriminator", "generator_ema" })]
    public void RecipesNameTheirNetworksAfterTheirCheckpointFiles(string kind, string[] networks)
    {
        using var recipe = RecipeRegistry.Create(ModelCatalog.Defaults(kind), new RecipeSetup { Classes = 10 });
        Assert.Equal(networks, recipe.Networks.Select(n => n.Name));
        Assert.Equal(kind, recipe.Kind);
        Assert.True(recipe.HasEma);
    }

    [Fact]
    public void TheGradientPenaltyKindReportsItsPenalty()
    {
        using var recipe = RecipeRegistry.Create(new WganGpOptions { Width = 8 }, new RecipeSetup());
        Assert.Equal(["loss_d", "loss_g", "gp"], recipe.MetricNames);
    }
}
